// Ops that are part of the wire protocol but arrive with a later issue (one-shot claims). Until then they get
// a protocol_error that says so, rather than "unknown op".
#pragma once

#include <algorithm>
#include <array>
#include <span>
#include <string>
#include <string_view>

#include "broker/common/result.hpp"
#include "broker/server/request.hpp"

namespace remo::server {

inline constexpr std::array<std::string_view, 2> kLaterProjectOps = {"claim", "delete"};
inline constexpr std::array<std::string_view, 3> kLaterAdminOps = {"claim-create", "claim-list",
                                                                   "claim-revoke"};

inline Error unknown_op_error(std::string_view op, std::span<const std::string_view> later_ops) {
  if (std::find(later_ops.begin(), later_ops.end(), op) != later_ops.end()) {
    return protocol_error("op '" + std::string(op) + "' is not implemented by this broker version yet");
  }
  return protocol_error(is_quotable(op) ? "unknown op '" + std::string(op) + "'" : std::string("unknown op"));
}

}  // namespace remo::server
