// DataPlaneGate: what every line on a project socket passes before anything else happens. Every line is
// charged: ping to the project's small ping bucket, everything else (get, info, claim, delete, unknown
// ops, malformed and over-long lines) to the project's token bucket (core::RateLimiter). get, info,
// claim and delete also pass the kill switch (core::LockState) first, and the audit log's health
// (core::AuditLog::accepting) last: an op whose audit line could not be written is refused. A refusal
// costs no parsing beyond the line's JSON, no allowlist check, no lookup.
//
// ping skips the kill switch and the audit check on purpose, so that health checks keep working while the
// broker is locked or its audit disk is full; its own bucket keeps them working during a get flood.
//
// A refusal for being over the rate also has the session pause before it answers that connection's next
// line (Answers::over_rate).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "broker/core/audit_log.hpp"
#include "broker/core/lock_state.hpp"
#include "broker/core/manifest.hpp"
#include "broker/core/rate_limiter.hpp"
#include "broker/lifecycle/project_limits.hpp"
#include "broker/transport/endpoint.hpp"
#include "protocol/request.hpp"

namespace remo::server {

// The ping bucket of every project: health checks, not traffic.
inline constexpr core::RateLimiter::Limits kPingLimits{20, 40};

class DataPlaneGate {
 public:
  // lock, limiter, audit and ping_limiter are the broker's, shared by every project; they outlive every
  // session. Without audit the audit check is skipped; without ping_limiter ping is not charged.
  DataPlaneGate(const core::LockState& lock, core::RateLimiter& limiter, std::string project,
                const core::AuditLog* audit = nullptr, core::RateLimiter* ping_limiter = nullptr);

  // true: the request may go on. false: the refusal is in out.replies (code "locked", "rate_limited" with
  // retry_after_seconds, or "internal_error" when the audit log cannot be written) and its audit event
  // (audit_event, decision deny, the code as outcome) in out.audit_events.
  bool admit(const Request& request, const PeerCredentials& peer, std::string_view audit_event,
             Answers& out) const;
  // A line that is not one of those ops (malformed, unknown op): charged to the bucket only.
  bool charge(const Request& request, const PeerCredentials& peer, std::string_view audit_event,
              Answers& out) const;
  // ping: charged to the ping bucket only.
  bool admit_ping(const Request& request, const PeerCredentials& peer, Answers& out) const;
  // A line over the line limit (the session closes the connection): charged, and audited as a protocol
  // error. No reply: the session writes it.
  void charge_overlong(const PeerCredentials& peer, Answers& out) const;
  // A blank line: one token, no reply; refused, it is audited (grouped) and out.over_rate is set.
  void charge_blank(const PeerCredentials& peer, Answers& out) const;

 private:
  bool over_rate(core::RateLimiter& limiter, const Request& request, const PeerCredentials& peer,
                 std::string_view audit_event, Answers& out) const;

  const core::LockState& lock_;
  core::RateLimiter& limiter_;
  const std::string project_;
  const core::AuditLog* audit_;
  core::RateLimiter* ping_limiter_;
};

}  // namespace remo::server
