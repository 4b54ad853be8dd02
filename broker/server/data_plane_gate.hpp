// DataPlaneGate: what every project-socket request except ping passes before anything else happens:
// first the kill switch (core::LockState), then the project's token bucket (core::RateLimiter). Each op
// handler calls admit() as its first line; a refusal costs no parsing, no allowlist check, no lookup.
//
// ping is left out on purpose so that health checks keep working while the broker is locked.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "broker/core/lock_state.hpp"
#include "broker/core/manifest.hpp"
#include "broker/core/rate_limiter.hpp"
#include "broker/server/endpoint.hpp"
#include "broker/server/request.hpp"

namespace remo::server {

class DataPlaneGate {
 public:
  // lock and limiter are the broker's, shared by every project; they outlive every session.
  DataPlaneGate(const core::LockState& lock, core::RateLimiter& limiter, std::string project);

  // true: the request may go on. false: the refusal is in out.replies (code "locked", or "rate_limited"
  // with retry_after_seconds) and its audit event (audit_event, decision deny, the code as outcome) in
  // out.audit_events.
  bool admit(const Request& request, const PeerCredentials& peer, std::string_view audit_event,
             Answers& out) const;

 private:
  const core::LockState& lock_;
  core::RateLimiter& limiter_;
  const std::string project_;
};

// A project's limits: the broker default tightened by the manifest's [limits]. A manifest can lower the
// rate or the burst, never raise them; with no broker default (rate 0) its rate applies as given.
core::RateLimiter::Limits project_rate_limits(const core::RateLimiter::Limits& broker_default,
                                              const core::ManifestLimits& manifest);

// {"requests_per_second":N,"burst":N}, or null when there is no limit, for status and reload replies.
Json rate_limits_json(const core::RateLimiter::Limits& limits);

}  // namespace remo::server
