#include "broker/core/audit_aggregator.hpp"

#include <gtest/gtest.h>

namespace remo::core {
namespace {

using nlohmann::json;

json refusal(const char* outcome, int uid = 4242, const char* project = "webapp") {
  return json{{"event", "secret.get"},
              {"decision", "deny"},
              {"outcome", outcome},
              {"project", project},
              {"peer", {{"uid", uid}, {"pid", 7}}}};
}

TEST(RefusalAggregatorTest, OnlyRefusalsAreGrouped) {
  EXPECT_TRUE(RefusalAggregator::key_of(refusal("rate_limited")));
  EXPECT_TRUE(RefusalAggregator::key_of(refusal("denied")));
  EXPECT_FALSE(
      RefusalAggregator::key_of(json{{"event", "secret.get"}, {"decision", "allow"}, {"outcome", "ok"}}));
  EXPECT_FALSE(RefusalAggregator::key_of(refusal("not_found")));
}

TEST(RefusalAggregatorTest, TheFirstOfASecondIsWrittenTheRestAreCountedIntoOneSummary) {
  RefusalAggregator refusals;
  const auto key = *RefusalAggregator::key_of(refusal("rate_limited"));
  EXPECT_TRUE(refusals.admit(key, "secret.get", 100));
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(refusals.admit(key, i % 2 ? "project.info" : "secret.get", 100));
  const auto other = *RefusalAggregator::key_of(refusal("rate_limited", 1000));
  EXPECT_TRUE(refusals.admit(other, "secret.get", 100)) << "another uid is another group";
  EXPECT_TRUE(refusals.take_finished(100).empty()) << "the second is not over";

  const auto summaries = refusals.take_finished(101);
  ASSERT_EQ(summaries.size(), 1U);
  EXPECT_EQ(summaries[0]["event"], "audit.suppressed");
  EXPECT_EQ(summaries[0]["count"], 5);
  EXPECT_EQ(summaries[0]["events"]["secret.get"], 3);
  EXPECT_EQ(summaries[0]["events"]["project.info"], 2);
  EXPECT_EQ(summaries[0]["peer_uid"], 4242);
  EXPECT_EQ(summaries[0]["project"], "webapp");
  EXPECT_EQ(refusals.suppressed_total(), 5U);
  EXPECT_FALSE(refusals.has_counts());
  EXPECT_TRUE(refusals.admit(key, "secret.get", 101)) << "a new second writes its first in full";
}

TEST(RefusalAggregatorTest, ASecondReplacedBeforeItWasSummarisedIsNotLost) {
  RefusalAggregator refusals;
  const auto key = *RefusalAggregator::key_of(refusal("denied"));
  refusals.admit(key, "secret.get", 100);
  refusals.admit(key, "secret.get", 100);
  EXPECT_TRUE(refusals.admit(key, "secret.get", 102));
  const auto summaries = refusals.take_finished(103);
  ASSERT_EQ(summaries.size(), 1U);
  EXPECT_EQ(summaries[0]["count"], 1);
}

}  // namespace
}  // namespace remo::core
