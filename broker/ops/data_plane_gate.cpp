#include "broker/ops/data_plane_gate.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "broker/transport/audit_events.hpp"
#include "broker/transport/reply.hpp"
#include "protocol/codes.hpp"

namespace remo::server {

namespace code = protocol::code;

namespace {

nlohmann::json project_event(std::string_view name, const PeerCredentials& peer, const std::string& project) {
  auto event = audit::begin(name, peer);
  event["project"] = project;
  return event;
}

}  // namespace

DataPlaneGate::DataPlaneGate(const core::LockState& lock, core::RateLimiter& limiter, std::string project,
                             const core::AuditLog* audit, core::RateLimiter* ping_limiter)
    : lock_(lock),
      limiter_(limiter),
      project_(std::move(project)),
      audit_(audit),
      ping_limiter_(ping_limiter) {}

bool DataPlaneGate::admit(const Request& request, const PeerCredentials& peer, std::string_view audit_event,
                          Answers& out) const {
  const auto started = audit::Clock::now();
  // The lock comes first, and a locked request takes no token: unlocking must not find every bucket
  // drained by requests that were never served.
  if (lock_.is_locked()) {
    audit::add(out.audit_events, project_event(audit_event, peer, project_), audit::kDeny, code::kLocked,
               started);
    append_error(out.replies, request.id, code::kLocked,
                 "the broker is locked by its administrator: no secrets are served until it is unlocked");
    return false;
  }
  if (over_rate(limiter_, request, peer, audit_event, out)) return false;
  if (audit_ == nullptr || audit_->accepting()) return true;

  audit::add(out.audit_events, project_event(audit_event, peer, project_), audit::kDeny, code::kInternalError,
             started);
  append_error(out.replies, request.id, code::kInternalError,
               "the audit log cannot be written; nothing is served until it can (the broker's status says "
               "why)");
  return false;
}

bool DataPlaneGate::charge(const Request& request, const PeerCredentials& peer, std::string_view audit_event,
                           Answers& out) const {
  return !over_rate(limiter_, request, peer, audit_event, out);
}

bool DataPlaneGate::admit_ping(const Request& request, const PeerCredentials& peer, Answers& out) const {
  return ping_limiter_ == nullptr || !over_rate(*ping_limiter_, request, peer, audit::kProjectPing, out);
}

void DataPlaneGate::charge_overlong(const PeerCredentials& peer, Answers& out) const {
  const auto started = audit::Clock::now();
  const core::RateLimiter::Decision decision = limiter_.acquire(project_);
  audit::add(out.audit_events, project_event(audit::kRequestInvalid, peer, project_), audit::kDeny,
             decision.allowed ? code::kProtocolError : code::kRateLimited, started);
}

void DataPlaneGate::charge_blank(const PeerCredentials& peer, Answers& out) const {
  const auto started = audit::Clock::now();
  if (limiter_.acquire(project_).allowed) return;
  audit::add(out.audit_events, project_event(audit::kRequestInvalid, peer, project_), audit::kDeny,
             code::kRateLimited, started);
  out.over_rate = true;
}

// true: refused for being over the rate (reply, audit event and slow_down in out).
bool DataPlaneGate::over_rate(core::RateLimiter& limiter, const Request& request, const PeerCredentials& peer,
                              std::string_view audit_event, Answers& out) const {
  const auto started = audit::Clock::now();
  const core::RateLimiter::Decision decision = limiter.acquire(project_);
  if (decision.allowed) return false;

  auto event = project_event(audit_event, peer, project_);
  event["retry_after_seconds"] = decision.retry_after_seconds;
  audit::add(out.audit_events, std::move(event), audit::kDeny, code::kRateLimited, started);
  append_error_with(
      out.replies, request.id,
      Error{std::string(code::kRateLimited), "project " + project_ + " is over its request rate; retry in " +
                                                 std::to_string(decision.retry_after_seconds) + " s"},
      Json{{"retry_after_seconds", decision.retry_after_seconds}});
  out.over_rate = true;
  return true;
}

}  // namespace remo::server
