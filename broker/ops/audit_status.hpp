// The audit log's health as the admin status reports it, and the admin ops it holds back while the log
// cannot be written.
#pragma once

#include <string_view>

#include "broker/core/audit_log.hpp"
#include "protocol/request.hpp"

namespace remo::server {

// {"state":"ok"|"degraded"|"backlogged","accepting":bool,"on_failure":"refuse"|"serve","error":text|null,
//  "pending":N,"dropped":N,"suppressed":N,"rotate_bytes":N,"keep_files":N}
Json audit_status_json(const core::AuditLog& audit);

// Whether an admin op writes an audit event and so is refused while the audit log cannot be written.
// lock is never held back: it only takes access away. Ops that only read (status, get-public-key,
// claim-list) are not audited.
bool admin_op_needs_audit(std::string_view op);

}  // namespace remo::server
