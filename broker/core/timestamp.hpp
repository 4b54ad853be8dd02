// Timestamps as the audit log and the wire protocol write them.
#pragma once

#include <chrono>
#include <string>

namespace remo::core {

// RFC 3339 in UTC with microseconds: "2024-05-01T12:34:56.123456Z".
std::string format_rfc3339_utc(std::chrono::system_clock::time_point when);

}  // namespace remo::core
