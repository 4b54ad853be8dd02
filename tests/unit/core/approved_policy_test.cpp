#include "broker/core/approved_policy.hpp"

#include <gtest/gtest.h>

namespace remo::core {
namespace {

ApprovedPolicy policy(std::vector<std::string> allowlist, ManifestLimits limits = {}) {
  return ApprovedPolicy{std::move(allowlist), std::nullopt, std::nullopt, limits, std::string(64, '0')};
}

TEST(ApprovedPolicy, DiffNamesAddedAndRemovedSecretsInPolicyOrder) {
  const PolicyDiff diff = diff_policies(policy({"A", "B", "C"}), policy({"D", "C", "A", "E"}));
  EXPECT_EQ(diff.added, (std::vector<std::string>{"D", "E"}));
  EXPECT_EQ(diff.removed, (std::vector<std::string>{"B"}));
  EXPECT_TRUE(diff.changed.empty());
}

TEST(ApprovedPolicy, DiffNamesEveryChangedSettingIncludingOnesUnset) {
  ApprovedPolicy to = policy({"A"}, ManifestLimits{std::nullopt, 9});
  to.cache_ttl_seconds = 60;
  const PolicyDiff diff = diff_policies(policy({"A"}, ManifestLimits{5, std::nullopt}), to);
  EXPECT_TRUE(diff.added.empty() && diff.removed.empty());
  const nlohmann::json changed = to_json(diff)["changed"];
  EXPECT_EQ(changed, (nlohmann::json{{"limits.requests_per_second", {{"from", 5}, {"to", nullptr}}},
                                     {"limits.burst", {{"from", nullptr}, {"to", 9}}},
                                     {"cache.ttl_seconds", {{"from", nullptr}, {"to", 60}}}}));
}

TEST(ApprovedPolicy, EqualPoliciesHaveAnEmptyDiff) {
  EXPECT_TRUE(diff_policies(policy({"A", "B"}), policy({"B", "A"})).empty());
}

TEST(ApprovedPolicy, StoredFormRoundTrips) {
  ApprovedPolicy original = policy({"A", "B"}, ManifestLimits{5, 7});
  original.cache_max_entries = 10;
  const auto back = approved_policy_from_json(to_json(original), "p");
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->allowlist, original.allowlist);
  EXPECT_EQ(back->limits.requests_per_second, original.limits.requests_per_second);
  EXPECT_EQ(back->limits.burst, original.limits.burst);
  EXPECT_EQ(back->cache_max_entries, original.cache_max_entries);
  EXPECT_FALSE(back->cache_ttl_seconds.has_value());
  EXPECT_EQ(back->manifest_sha256, original.manifest_sha256);
}

TEST(ApprovedPolicy, StoredFormIsCheckedStrictly) {
  nlohmann::json stored = to_json(policy({"A"}));
  stored["allowlist"] = {"A", "A"};
  EXPECT_FALSE(approved_policy_from_json(stored, "p").ok());
  stored = to_json(policy({"A"}));
  stored["limits"]["requests_per_second"] = 1'000'001;
  EXPECT_FALSE(approved_policy_from_json(stored, "p").ok());
  stored = to_json(policy({"A"}));
  stored["cache"]["ttl"] = 1;
  EXPECT_FALSE(approved_policy_from_json(stored, "p").ok());
}

}  // namespace
}  // namespace remo::core
