// How the manifest in a project's tree compares with the policy an admin approved for it. The tree is the
// devcontainer's to write, so a difference is only reported (status, and one manifest.changed audit line per
// distinct content), never applied: reload is the admin's approval.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "broker/core/approved_policy.hpp"
#include "broker/core/manifest.hpp"

namespace remo::server {

struct ManifestDrift {
  // What tells one drift from another: the manifest text's SHA-256, or why no text could be read.
  std::string key;
  std::optional<std::string> manifest_sha256;  // when a file was read
  core::PolicyDiff diff;                       // what reload would change (empty when it would fail)
  std::optional<std::string> error;            // why reload would fail (the manifest is invalid or gone)
};

// nullopt when the tree holds exactly the approved manifest (same SHA-256).
std::optional<ManifestDrift> find_drift(const core::ApprovedPolicy& approved,
                                        const core::ManifestReading& reading);

// status's per-project "manifest_drift": {"manifest_sha256","added","removed","changed","error"}.
nlohmann::json to_json(const ManifestDrift& drift);

// The manifest.changed audit event (by the broker itself: no peer), completed with decision "deny" (the
// change is not applied) and outcome "ok". seen_at: "start", "reload" or "status".
nlohmann::json manifest_changed_event(std::string_view project, const ManifestDrift& drift,
                                      std::string_view seen_at);

}  // namespace remo::server
