// errno in words, thread-safe (std::strerror is not).
#pragma once

#include <cerrno>
#include <string>
#include <system_error>

namespace remo::server {

inline std::string errno_text(int error = errno) { return std::generic_category().message(error); }

}  // namespace remo::server
