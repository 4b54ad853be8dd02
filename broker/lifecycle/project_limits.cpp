#include "broker/lifecycle/project_limits.hpp"

#include <algorithm>
#include <cmath>

namespace remo::server {

core::RateLimiter::Limits project_rate_limits(const core::RateLimiter::Limits& broker_default,
                                              const core::ManifestLimits& manifest) {
  core::RateLimiter::Limits limits = broker_default;
  if (manifest.requests_per_second) {
    const auto wanted = static_cast<double>(*manifest.requests_per_second);
    limits.rate_per_second =
        broker_default.rate_per_second <= 0 ? wanted : std::min(broker_default.rate_per_second, wanted);
  }
  if (manifest.burst) limits.burst = std::min(broker_default.burst, static_cast<double>(*manifest.burst));
  return limits;
}

Json rate_limits_json(const core::RateLimiter::Limits& limits) {
  if (limits.rate_per_second <= 0) return Json(nullptr);
  // Whole numbers on the wire: config and manifests only ever give integers.
  return Json{{"requests_per_second", std::llround(limits.rate_per_second)},
              {"burst", std::llround(std::max(1.0, limits.burst))}};
}

}  // namespace remo::server
