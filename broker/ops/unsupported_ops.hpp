// Ops that are part of the wire protocol but not implemented by this broker version (none at the moment;
// the lists stay so that a future op can be announced before it lands). They get a protocol_error that
// says so, rather than "unknown op".
#pragma once

#include <algorithm>
#include <array>
#include <span>
#include <string>
#include <string_view>

#include "broker/common/result.hpp"
#include "protocol/request.hpp"

namespace remo::server {

inline constexpr std::array<std::string_view, 0> kLaterProjectOps = {};
inline constexpr std::array<std::string_view, 0> kLaterAdminOps = {};

inline Error unknown_op_error(std::string_view op, std::span<const std::string_view> later_ops) {
  if (std::find(later_ops.begin(), later_ops.end(), op) != later_ops.end()) {
    return protocol_error("op '" + std::string(op) + "' is not implemented by this broker version yet");
  }
  return protocol_error(is_quotable(op) ? "unknown op '" + std::string(op) + "'" : std::string("unknown op"));
}

}  // namespace remo::server
