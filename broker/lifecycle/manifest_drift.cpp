#include "broker/lifecycle/manifest_drift.hpp"

#include <utility>
#include <vector>

#include "broker/transport/audit_events.hpp"

namespace remo::server {

std::optional<ManifestDrift> find_drift(const core::ApprovedPolicy& approved,
                                        const core::ManifestReading& reading) {
  if (reading.manifest && reading.manifest->sha256 == approved.manifest_sha256) return std::nullopt;
  ManifestDrift drift;
  drift.manifest_sha256 = reading.text_sha256;
  if (reading.manifest) {
    drift.key = reading.manifest->sha256;
    drift.diff = core::diff_policies(approved, core::ApprovedPolicy::from_manifest(*reading.manifest));
  } else {
    drift.error = reading.manifest.error().code + ": " + reading.manifest.error().message;
    drift.key = reading.text_sha256 ? *reading.text_sha256 : *drift.error;
  }
  return drift;
}

nlohmann::json to_json(const ManifestDrift& drift) {
  nlohmann::json out = core::to_json(drift.diff);
  out["manifest_sha256"] =
      drift.manifest_sha256 ? nlohmann::json(*drift.manifest_sha256) : nlohmann::json(nullptr);
  out["error"] = drift.error ? nlohmann::json(*drift.error) : nlohmann::json(nullptr);
  return out;
}

nlohmann::json manifest_changed_event(std::string_view project, const ManifestDrift& drift,
                                      std::string_view seen_at) {
  nlohmann::json event = to_json(drift);
  event["event"] = audit::kManifestChanged;
  event["project"] = project;
  event["seen_at"] = seen_at;
  std::vector<nlohmann::json> events;
  audit::add(events, std::move(event), audit::kDeny, audit::kOk, audit::Clock::now());
  return std::move(events.front());
}

}  // namespace remo::server
