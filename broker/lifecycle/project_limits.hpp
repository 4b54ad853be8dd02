// The rate limits a project is served with, and how status and reload show them.
#pragma once

#include "broker/core/manifest.hpp"
#include "broker/core/rate_limiter.hpp"
#include "protocol/request.hpp"

namespace remo::server {

// A project's limits: the broker default tightened by the manifest's [limits]. A manifest can lower the
// rate or the burst, never raise them; with no broker default (rate 0) its rate applies as given.
core::RateLimiter::Limits project_rate_limits(const core::RateLimiter::Limits& broker_default,
                                              const core::ManifestLimits& manifest);

// {"requests_per_second":N,"burst":N}, or null when there is no limit, for status and reload replies.
Json rate_limits_json(const core::RateLimiter::Limits& limits);

}  // namespace remo::server
