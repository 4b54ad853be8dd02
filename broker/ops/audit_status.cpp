#include "broker/ops/audit_status.hpp"
#include "protocol/ops.hpp"

#include <array>
#include <system_error>

namespace remo::server {

Json audit_status_json(const core::AuditLog& audit) {
  const core::AuditLog::Health health = audit.health();
  const core::AuditLog::Options& options = audit.options();
  const char* state = health.degraded ? "degraded" : health.accepting ? "ok" : "backlogged";
  if (!health.degraded && health.pending >= options.admit_pending) state = "backlogged";
  return Json{
      {"state", state},
      {"accepting", health.accepting},
      {"on_failure", options.fail_closed ? "refuse" : "serve"},
      {"error", health.error != 0 ? Json(std::generic_category().message(health.error)) : Json(nullptr)},
      {"pending", health.pending},
      {"dropped", health.dropped},
      {"suppressed", health.suppressed},
      {"rotate_bytes", options.file_limits.rotate_bytes},
      {"keep_files", options.file_limits.keep_files}};
}

bool admin_op_needs_audit(std::string_view op) {
  static constexpr std::array kNotHeldBack{protocol::op::kStatus, protocol::op::kGetPublicKey,
                                           protocol::op::kClaimList, protocol::op::kLock};
  for (const std::string_view name : kNotHeldBack) {
    if (op == name) return false;
  }
  return true;
}

}  // namespace remo::server
