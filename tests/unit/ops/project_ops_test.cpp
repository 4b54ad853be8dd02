#include "broker/ops/project_ops.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "tests/unit/support/temp_dir.hpp"

namespace remo::server {
namespace {

constexpr std::string_view kCanary = "CANARY-7c1e9a54d2b8-do-not-leak";

class ProjectOpsTest : public ::testing::Test {
 protected:
  ProjectOpsTest() {
    auto secrets =
        core::SecretSet::parse_bundle("GITHUB_TOKEN = \"" + std::string(kCanary) +
                                      "\"\nOTHER = \"other\"\nBYTES = { value_b64 = \"AAEC/w==\" }\n");
    EXPECT_TRUE(secrets.ok());
    store_.replace(std::move(*secrets), std::chrono::system_clock::now());
    project_ = std::make_shared<ProjectState>(
        "myrepo", ProjectPolicy{{"GITHUB_TOKEN", "BYTES", "ABSENT"}, 120, std::nullopt, {}});
  }

  Json call(ProjectOps& ops, std::string_view line, PeerCredentials peer = {10, 1000, 1000}) {
    Answers out;
    ops.handle(line, peer, out);
    keep_events(out);
    const ReplyBuffer& reply = out.replies;
    EXPECT_EQ(reply.back(), '\n');
    EXPECT_EQ(reply.find('\n'), reply.size() - 1) << "exactly one reply line";
    return Json::parse(std::string(reply.data(), reply.size() - 1));
  }

  bool admit(ProjectOps& ops, const PeerCredentials& peer) {
    Answers out;
    const bool admitted = ops.admit(peer, out);
    keep_events(out);
    return admitted;
  }

  void keep_events(Answers& out) {
    for (auto& event : out.audit_events) events_.push_back(std::move(event));
    for (const auto& line : out.audit_lines) {
      auto event = Json::parse(line, nullptr, false);
      EXPECT_TRUE(event.is_object()) << "an audit line is not a JSON object: " << line;
      events_.push_back(std::move(event));
    }
  }

  std::string audit_text() const {
    std::string text;
    for (const auto& event : events_) text += event.dump() + "\n";
    return text;
  }

  DataPlaneGate gate(const std::string& project = "myrepo") {
    return DataPlaneGate(lock_, limiter_, project);
  }

  std::vector<nlohmann::json> events_;  // every audit event the ops produced
  core::SecretStore store_;
  std::shared_ptr<ProjectState> project_;
  test_support::TempDir dir_;
  core::LockState lock_{dir_ / "locked.json"};
  std::chrono::steady_clock::time_point now_{std::chrono::seconds(1000)};
  // No limit unless a test sets one; its clock moves only when a test says so.
  core::RateLimiter limiter_{{0, 1000}, [this] { return now_; }};
};

TEST_F(ProjectOpsTest, PingNamesTheProjectAndProtocol) {
  ProjectOps ops(project_, {}, store_, gate());
  const Json reply = call(ops, R"({"op":"ping","id":1})");
  EXPECT_EQ(reply, Json::parse(R"({"ok":true,"id":1,"broker_version":")" REMO_BROKER_VERSION
                               R"(","protocol_version":2,"project":"myrepo"})"));
}

TEST_F(ProjectOpsTest, InfoListsTheAllowlist) {
  ProjectOps ops(project_, {}, store_, gate());
  EXPECT_EQ(call(ops, R"({"op":"info"})"),
            Json::parse(R"({"ok":true,"project":"myrepo","allowlist":["GITHUB_TOKEN","BYTES","ABSENT"],)"
                        R"("schema_version":1})"));
}

TEST_F(ProjectOpsTest, AnAllowedSecretIsServedWithTheManifestTtl) {
  ProjectOps ops(project_, {}, store_, gate());
  const Json reply = call(ops, R"({"op":"get","name":"GITHUB_TOKEN"})");
  EXPECT_EQ(reply["ok"], true);
  EXPECT_EQ(reply["value"], std::string(kCanary));
  EXPECT_EQ(reply["ttl_seconds"], 120);
  EXPECT_EQ(call(ops, R"({"op":"get","name":"BYTES"})")["value_b64"], "AAEC/w==");
}

TEST_F(ProjectOpsTest, TheAllowlistIsCheckedBeforeAnyLookup) {
  ProjectOps ops(project_, {}, store_, gate());
  const Json loaded_but_denied = call(ops, R"({"op":"get","name":"OTHER"})");
  const Json absent_and_denied = call(ops, R"({"op":"get","name":"NOPE"})");
  EXPECT_EQ(loaded_but_denied["code"], "denied");
  EXPECT_EQ(absent_and_denied["code"], "denied");
  EXPECT_EQ(call(ops, R"({"op":"get","name":"ABSENT"})")["code"], "not_found");
}

TEST_F(ProjectOpsTest, EveryGetIsAuditedWithItsDecisionAndNeverItsValue) {
  ProjectOps ops(project_, {}, store_, gate());
  call(ops, R"({"op":"get","name":"GITHUB_TOKEN"})", {11, 1000, 100});
  call(ops, R"({"op":"get","name":"OTHER"})");
  call(ops, R"({"op":"get","name":"ABSENT"})");
  const auto& lines = events_;
  ASSERT_EQ(lines.size(), 3U);
  EXPECT_EQ(lines[0]["event"], "secret.get");
  EXPECT_EQ(lines[0]["project"], "myrepo");
  EXPECT_EQ(lines[0]["secret"], "GITHUB_TOKEN");
  EXPECT_EQ(lines[0]["decision"], "allow");
  EXPECT_EQ(lines[0]["outcome"], "ok");
  EXPECT_EQ(lines[0]["peer"], (nlohmann::json{{"pid", 11}, {"uid", 1000}, {"gid", 100}}));
  EXPECT_TRUE(lines[0]["latency_us"].is_number_integer());
  std::vector<std::string> keys;
  for (const auto& [key, value] : lines[0].items()) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"decision", "event", "latency_us", "outcome", "peer", "project",
                                            "secret"}));
  EXPECT_EQ(lines[1]["decision"], "deny");
  EXPECT_EQ(lines[1]["outcome"], "denied");
  EXPECT_EQ(lines[2]["decision"], "allow");
  EXPECT_EQ(lines[2]["outcome"], "not_found");
  EXPECT_EQ(audit_text().find(kCanary), std::string::npos);
}

TEST_F(ProjectOpsTest, AReloadedPolicyTakesEffectOnTheNextGet) {
  ProjectOps ops(project_, {}, store_, gate());
  EXPECT_EQ(call(ops, R"({"op":"get","name":"OTHER"})")["code"], "denied");
  project_->set_policy(ProjectPolicy{{"OTHER"}, 300, std::nullopt, {}});
  EXPECT_EQ(call(ops, R"({"op":"get","name":"OTHER"})")["value"], "other");
  EXPECT_EQ(call(ops, R"({"op":"get","name":"GITHUB_TOKEN"})")["code"], "denied");
}

TEST_F(ProjectOpsTest, BadRequestsAreProtocolErrors) {
  ProjectOps ops(project_, {}, store_, gate());
  for (const char* line :
       {R"({"op":"get"})", R"({"op":"get","name":7})", R"({"op":"get","name":["GITHUB_TOKEN"]})",
        R"({"op":"get","name":"bad name!"})", R"({"op":"get","name":""})",
        R"({"op":"get","name":"GITHUB_TOKEN","extra":1})", R"({"op":"steal-everything"})",
        R"({"op":"clear-creds"})", R"({"op":"ping","x":1})", "not json"}) {
    const Json reply = call(ops, line);
    EXPECT_EQ(reply["ok"], false) << line;
    EXPECT_EQ(reply["code"], "protocol_error") << line;
  }
  // Lines that are no op at all are charged and audited as request.invalid; a malformed get names no
  // secret to audit.
  ASSERT_EQ(events_.size(), 3U);
  for (const auto& event : events_) {
    EXPECT_EQ(event["event"], "request.invalid");
    EXPECT_EQ(event["outcome"], "protocol_error");
    EXPECT_FALSE(event.contains("secret"));
  }
}

TEST_F(ProjectOpsTest, RegisteredUidsAreTheOnlyPeersAdmitted) {
  ProjectOps open(project_, {}, store_, gate());
  EXPECT_TRUE(admit(open, {1, 4242, 4242}));
  ProjectOps restricted(project_, {1000, 1001}, store_, gate());
  EXPECT_TRUE(admit(restricted, {1, 1001, 1001}));
  EXPECT_FALSE(admit(restricted, {77, 4242, 4242}));
  const auto& lines = events_;
  ASSERT_EQ(lines.size(), 1U);
  EXPECT_EQ(lines[0]["event"], "peer.rejected");
  EXPECT_EQ(lines[0]["decision"], "deny");
  EXPECT_EQ(lines[0]["outcome"], "peer_unexpected");
  EXPECT_EQ(lines[0]["peer"]["uid"], 4242);
}

// ---- the data-plane gate: kill switch and rate limit ----------------------------------------------------

TEST_F(ProjectOpsTest, ALockedBrokerAnswersOnlyPing) {
  ProjectOps ops(project_, {}, store_, gate());
  ASSERT_TRUE(lock_.lock("uid 0", "laptop stolen"));
  for (const char* line : {R"({"op":"get","name":"GITHUB_TOKEN","id":4})", R"({"op":"info"})",
                           R"({"op":"get","name":"bad name!"})"}) {
    const Json reply = call(ops, line);
    EXPECT_EQ(reply["code"], "locked") << line;
    EXPECT_FALSE(reply.contains("value")) << line;
  }
  EXPECT_EQ(call(ops, R"({"op":"get","name":"GITHUB_TOKEN","id":4})")["id"], 4);
  EXPECT_EQ(call(ops, R"({"op":"ping"})")["ok"], true);
  ASSERT_EQ(events_.size(), 4U);
  EXPECT_EQ(events_[0]["event"], "secret.get");
  EXPECT_EQ(events_[0]["project"], "myrepo");
  EXPECT_EQ(events_[0]["decision"], "deny");
  EXPECT_EQ(events_[0]["outcome"], "locked");
  EXPECT_EQ(events_[1]["event"], "project.info");
  EXPECT_EQ(audit_text().find(kCanary), std::string::npos);

  ASSERT_TRUE(lock_.unlock("uid 0"));
  EXPECT_EQ(call(ops, R"({"op":"get","name":"GITHUB_TOKEN"})")["value"], std::string(kCanary));
}

TEST_F(ProjectOpsTest, RequestsOverTheRateAreRefusedWithRetryAfterAndAudited) {
  limiter_.set_limits("myrepo", {1, 2});  // one per second, two at once
  ProjectOps ops(project_, {}, store_, gate());
  EXPECT_EQ(call(ops, R"({"op":"get","name":"GITHUB_TOKEN"})")["ok"], true);
  EXPECT_EQ(call(ops, R"({"op":"info"})")["ok"], true);
  const Json refused = call(ops, R"({"op":"get","name":"GITHUB_TOKEN","id":"r"})");
  EXPECT_EQ(refused["ok"], false);
  EXPECT_EQ(refused["id"], "r");
  EXPECT_EQ(refused["code"], "rate_limited");
  EXPECT_EQ(refused["retry_after_seconds"], 1);
  EXPECT_FALSE(refused.contains("value"));
  EXPECT_EQ(call(ops, R"({"op":"ping"})")["ok"], true) << "ping takes no token";

  ASSERT_FALSE(events_.empty());
  const auto& last = events_.back();
  EXPECT_EQ(last["event"], "secret.get");
  EXPECT_EQ(last["decision"], "deny");
  EXPECT_EQ(last["outcome"], "rate_limited");
  EXPECT_EQ(last["retry_after_seconds"], 1);

  now_ += std::chrono::seconds(1);
  EXPECT_EQ(call(ops, R"({"op":"get","name":"GITHUB_TOKEN"})")["ok"], true);
  EXPECT_EQ(audit_text().find(kCanary), std::string::npos);
}

TEST_F(ProjectOpsTest, RetryAfterIsWholeSecondsUntilTheNextToken) {
  limiter_.set_limits("myrepo", {0.25, 1});  // one every four seconds
  ProjectOps ops(project_, {}, store_, gate());
  EXPECT_EQ(call(ops, R"({"op":"get","name":"OTHER"})")["code"], "denied") << "a denied get costs a token";
  EXPECT_EQ(call(ops, R"({"op":"get","name":"OTHER"})")["retry_after_seconds"], 4);
  now_ += std::chrono::milliseconds(3500);
  EXPECT_EQ(call(ops, R"({"op":"get","name":"OTHER"})")["retry_after_seconds"], 1);
}

TEST_F(ProjectOpsTest, LockedRequestsTakeNoTokens) {
  limiter_.set_limits("myrepo", {1, 1});
  ProjectOps ops(project_, {}, store_, gate());
  ASSERT_TRUE(lock_.lock("uid 0", ""));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(call(ops, R"({"op":"get","name":"GITHUB_TOKEN"})")["code"], "locked");
  ASSERT_TRUE(lock_.unlock("uid 0"));
  EXPECT_EQ(call(ops, R"({"op":"get","name":"GITHUB_TOKEN"})")["ok"], true);
}

TEST_F(ProjectOpsTest, EachProjectHasItsOwnBucket) {
  limiter_.set_limits("myrepo", {1, 1});
  limiter_.set_limits("other", {1, 1});
  ProjectOps mine(project_, {}, store_, gate("myrepo"));
  auto other_state = std::make_shared<ProjectState>("other", ProjectPolicy{{"OTHER"}, 60, std::nullopt, {}});
  ProjectOps theirs(other_state, {}, store_, gate("other"));
  EXPECT_EQ(call(mine, R"({"op":"get","name":"GITHUB_TOKEN"})")["ok"], true);
  EXPECT_EQ(call(mine, R"({"op":"get","name":"GITHUB_TOKEN"})")["code"], "rate_limited");
  EXPECT_EQ(call(theirs, R"({"op":"get","name":"OTHER"})")["value"], "other");
}

TEST(ProjectRateLimits, AManifestCanOnlyTightenTheBrokerDefault) {
  using Limits = core::RateLimiter::Limits;
  const Limits broker{100, 200};
  EXPECT_EQ(project_rate_limits(broker, {}), broker);
  EXPECT_EQ(project_rate_limits(broker, {5, 10}), (Limits{5, 10}));
  EXPECT_EQ(project_rate_limits(broker, {1000, 1000}), broker);
  EXPECT_EQ(project_rate_limits(broker, {5, std::nullopt}), (Limits{5, 200}));
  EXPECT_EQ(project_rate_limits(broker, {std::nullopt, 3}), (Limits{100, 3}));
  // No broker default: the manifest's rate applies as written, its burst still capped by the default's.
  EXPECT_EQ(project_rate_limits({0, 200}, {}).rate_per_second, 0);
  EXPECT_EQ(project_rate_limits({0, 200}, {50, 500}), (Limits{50, 200}));
}

TEST(ProjectRateLimits, StatusShowsWholeNumbersOrNull) {
  EXPECT_EQ(rate_limits_json({100, 200}), (Json{{"requests_per_second", 100}, {"burst", 200}}));
  EXPECT_TRUE(rate_limits_json({0, 200}).is_null());
}

}  // namespace
}  // namespace remo::server
