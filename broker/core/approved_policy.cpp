#include "broker/core/approved_policy.hpp"

#include <algorithm>
#include <set>
#include <utility>

#include "broker/core/secret_set.hpp"

namespace remo::core {
namespace {

using nlohmann::json;

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

json optional_number(const std::optional<std::int64_t>& value) {
  return value ? json(*value) : json(nullptr);
}

void compare(std::vector<SettingChange>& changes, std::string setting,
             const std::optional<std::int64_t>& from, const std::optional<std::int64_t>& to) {
  if (from != to) changes.push_back(SettingChange{std::move(setting), from, to});
}

Error invalid(const std::string& where, const std::string& problem) {
  return Error{"invalid", where + problem};
}

// An optional integer member of a stored table, in 1..max.
Result<std::optional<std::int64_t>> stored_setting(const json& table, const std::string& where,
                                                   const char* key, std::int64_t max) {
  const auto member = table.find(key);
  if (member == table.end() || member->is_null()) return std::optional<std::int64_t>{};
  if (!member->is_number_integer()) return invalid(where, std::string(".") + key + " must be an integer");
  const auto value = member->get<std::int64_t>();
  if (value < 1 || value > max) return invalid(where, std::string(".") + key + " is out of range");
  return std::optional<std::int64_t>(value);
}

Result<void> only_keys(const json& object, const std::string& where,
                       std::initializer_list<const char*> known) {
  if (!object.is_object()) return invalid(where, " must be an object");
  for (const auto& item : object.items()) {
    const std::string& key = item.key();
    if (std::none_of(known.begin(), known.end(), [&](const char* name) { return key == name; }))
      return invalid(where, " has an unknown key \"" + key + "\"");
  }
  return {};
}

Result<std::vector<std::string>> stored_allowlist(const json& value, const std::string& where) {
  if (!value.is_array()) return invalid(where, ".allowlist must be an array");
  std::vector<std::string> names;
  std::set<std::string, std::less<>> seen;
  for (const json& entry : value) {
    if (!entry.is_string() || !is_valid_secret_name(entry.get<std::string>()))
      return invalid(where, ".allowlist holds something that is not a secret name");
    if (!seen.insert(entry.get<std::string>()).second) return invalid(where, ".allowlist lists a name twice");
    names.push_back(entry.get<std::string>());
  }
  return names;
}

bool is_sha256_hex(const std::string& text) {
  return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace

ApprovedPolicy ApprovedPolicy::from_manifest(const Manifest& manifest) {
  return ApprovedPolicy{manifest.allowlist, manifest.cache_ttl_seconds, manifest.cache_max_entries,
                        manifest.limits, manifest.sha256};
}

PolicyDiff diff_policies(const ApprovedPolicy& from, const ApprovedPolicy& to) {
  PolicyDiff diff;
  for (const std::string& name : to.allowlist) {
    if (!contains(from.allowlist, name)) diff.added.push_back(name);
  }
  for (const std::string& name : from.allowlist) {
    if (!contains(to.allowlist, name)) diff.removed.push_back(name);
  }
  compare(diff.changed, "limits.requests_per_second", from.limits.requests_per_second,
          to.limits.requests_per_second);
  compare(diff.changed, "limits.burst", from.limits.burst, to.limits.burst);
  compare(diff.changed, "cache.ttl_seconds", from.cache_ttl_seconds, to.cache_ttl_seconds);
  compare(diff.changed, "cache.max_entries", from.cache_max_entries, to.cache_max_entries);
  return diff;
}

json to_json(const PolicyDiff& diff) {
  json changed = json::object();
  for (const SettingChange& change : diff.changed) {
    changed[change.setting] = {{"from", optional_number(change.from)}, {"to", optional_number(change.to)}};
  }
  return {{"added", diff.added}, {"removed", diff.removed}, {"changed", std::move(changed)}};
}

json to_json(const ApprovedPolicy& policy) {
  json cache = json::object();
  if (policy.cache_ttl_seconds) cache["ttl_seconds"] = *policy.cache_ttl_seconds;
  if (policy.cache_max_entries) cache["max_entries"] = *policy.cache_max_entries;
  json limits = json::object();
  if (policy.limits.requests_per_second) limits["requests_per_second"] = *policy.limits.requests_per_second;
  if (policy.limits.burst) limits["burst"] = *policy.limits.burst;
  return {{"manifest_sha256", policy.manifest_sha256},
          {"allowlist", policy.allowlist},
          {"cache", std::move(cache)},
          {"limits", std::move(limits)}};
}

Result<ApprovedPolicy> approved_policy_from_json(const json& value, const std::string& where) {
  if (auto keys = only_keys(value, where, {"manifest_sha256", "allowlist", "cache", "limits"}); !keys)
    return std::move(keys).error();
  ApprovedPolicy policy;
  const auto sha = value.find("manifest_sha256");
  if (sha == value.end() || !sha->is_string() || !is_sha256_hex(sha->get<std::string>()))
    return invalid(where, ".manifest_sha256 must be 64 lowercase hex digits");
  policy.manifest_sha256 = sha->get<std::string>();
  const auto allowlist = value.find("allowlist");
  if (allowlist == value.end()) return invalid(where, ".allowlist is missing");
  auto names = stored_allowlist(*allowlist, where);
  if (!names) return std::move(names).error();
  policy.allowlist = std::move(names).value();

  const json cache = value.value("cache", json::object());
  if (auto keys = only_keys(cache, where + ".cache", {"ttl_seconds", "max_entries"}); !keys)
    return std::move(keys).error();
  auto ttl = stored_setting(cache, where + ".cache", "ttl_seconds", kMaxCacheTtlSeconds);
  if (!ttl) return std::move(ttl).error();
  auto entries = stored_setting(cache, where + ".cache", "max_entries", kMaxCacheEntries);
  if (!entries) return std::move(entries).error();
  const json limits = value.value("limits", json::object());
  if (auto keys = only_keys(limits, where + ".limits", {"requests_per_second", "burst"}); !keys)
    return std::move(keys).error();
  auto rate = stored_setting(limits, where + ".limits", "requests_per_second", kMaxRequestsPerSecond);
  if (!rate) return std::move(rate).error();
  auto burst = stored_setting(limits, where + ".limits", "burst", kMaxBurst);
  if (!burst) return std::move(burst).error();
  policy.cache_ttl_seconds = *ttl;
  policy.cache_max_entries = *entries;
  policy.limits = ManifestLimits{*rate, *burst};
  return policy;
}

}  // namespace remo::core
