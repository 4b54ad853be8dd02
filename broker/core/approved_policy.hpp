// The approved policy of a project: what its socket serves. An admin's register or reload copies it from the
// manifest into the broker's own state (registrations.json); from then on the manifest in the project tree,
// which the devcontainer can write, is only a proposal that the admin sees as a PolicyDiff and approves with
// reload. The broker never takes a policy from the project tree by itself.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "broker/common/result.hpp"
#include "broker/core/manifest.hpp"

namespace remo::core {

struct ApprovedPolicy {
  std::vector<std::string> allowlist;  // in manifest order
  std::optional<std::int64_t> cache_ttl_seconds;
  std::optional<std::int64_t> cache_max_entries;
  ManifestLimits limits;
  std::string manifest_sha256;  // of the manifest text that was approved

  static ApprovedPolicy from_manifest(const Manifest& manifest);
};

// One numeric setting that differs ("limits.burst", "cache.ttl_seconds", ...); nullopt: not set.
struct SettingChange {
  std::string setting;
  std::optional<std::int64_t> from;
  std::optional<std::int64_t> to;
};

// What approving `to` over `from` would change: secret names added and removed (each in its policy's order)
// and settings changed.
struct PolicyDiff {
  std::vector<std::string> added;
  std::vector<std::string> removed;
  std::vector<SettingChange> changed;

  bool empty() const noexcept { return added.empty() && removed.empty() && changed.empty(); }
};

PolicyDiff diff_policies(const ApprovedPolicy& from, const ApprovedPolicy& to);

// {"added":[..],"removed":[..],"changed":{"limits.burst":{"from":N|null,"to":N|null},..}}
nlohmann::json to_json(const PolicyDiff& diff);

// {"manifest_sha256":..,"allowlist":[..],"cache":{"ttl_seconds":N?,"max_entries":N?},
//  "limits":{"requests_per_second":N?,"burst":N?}}: the form registrations.json stores.
nlohmann::json to_json(const ApprovedPolicy& policy);
// The stored form back, checked as strictly as a manifest (names, ranges, no unknown keys). Errors:
// "invalid" with a message naming the field below `where`.
Result<ApprovedPolicy> approved_policy_from_json(const nlohmann::json& value, const std::string& where);

}  // namespace remo::core
