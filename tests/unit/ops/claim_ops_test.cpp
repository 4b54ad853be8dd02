// The one-shot secret ops as the admin and project endpoints answer them (admin_claim_ops.cpp,
// project_claim_ops.cpp) and the expiry timer (claim_expiry.cpp), over a real ClaimLedger on disk. The
// blocking part of each op (BlockingWork) is run here by hand, as the session runs it on a claim worker.
#include <gtest/gtest.h>
#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "broker/lifecycle/claim_expiry.hpp"
#include "broker/ops/admin_ops.hpp"
#include "broker/ops/project_ops.hpp"
#include "tests/unit/support/temp_dir.hpp"

namespace remo::server {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
constexpr std::string_view kCanary = "CANARY-7c1e9a54d2b8-do-not-leak";

struct NoSocket : ProjectSocket {
  void start() override {}
  void drain() override {}
  void close() override {}
};

struct NoSockets : ProjectSocketFactory {
  Result<std::shared_ptr<ProjectSocket>> bind(const core::Registration& /*registration*/,
                                              const fs::path& /*socket_path*/,
                                              std::shared_ptr<const ProjectState> /*state*/) override {
    return std::shared_ptr<ProjectSocket>(std::make_shared<NoSocket>());
  }
};

std::string read_text(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class ClaimOpsTest : public ::testing::Test {
 protected:
  ClaimOpsTest() : registry_(dir_ / "run", dir_ / "state" / "registrations.json", sockets_) {
    fs::create_directories(dir_ / "run");
    fs::create_directories(dir_ / "state");
    broker_.identities.push_back(crypto::X25519Identity::generate());
    broker_.recipient = broker_.identities[0].recipient().encode();
    broker_.secrets_file = dir_ / "state" / "secrets.enc";
    broker_.broker_uid = 0;
    open_ledger([] { return std::chrono::system_clock::now(); });
    for (const std::string name : {"proj", "other"}) {
      const fs::path project = dir_ / "projects" / name;
      fs::create_directories(project / ".devcontainer");
      std::ofstream(project / ".devcontainer" / "remo-broker.toml")
          << "schema_version = 1\n[project]\nname = \"" << name << "\"\n[allowlist]\nsecrets = []\n";
      EXPECT_TRUE(
          registry_.add(core::Registration{name, project, {}, std::nullopt, std::nullopt, std::nullopt}));
    }
    admin_ = std::make_unique<AdminOps>(broker_, registry_);
    proj_ = std::make_unique<ProjectOps>(state("proj"), std::vector<uid_t>{}, store_, gate("proj"),
                                         ClaimPlane{broker_.claims.get(), {}});
    other_ = std::make_unique<ProjectOps>(state("other"), std::vector<uid_t>{}, store_, gate("other"),
                                          ClaimPlane{broker_.claims.get(), {}});
  }

  void open_ledger(core::ClaimLedger::Clock clock) {
    core::ClaimLedger::Options options;
    options.file = dir_ / "state" / "claims.enc";
    options.recipient = broker_.identities[0].recipient();
    options.clock = std::move(clock);
    auto ledger = core::ClaimLedger::open(std::move(options), broker_.identities);
    ASSERT_TRUE(ledger);
    broker_.claims = std::make_unique<core::ClaimLedger>(std::move(*ledger));
  }

  std::shared_ptr<const ProjectState> state(const std::string& name) {
    return registry_.projects().find(name)->second.state;
  }

  // Answers one request line the way a session does: handle(), then the blocking work if any.
  Json call(Endpoint& endpoint, const Json& request, std::optional<bool> expect_blocking) {
    const std::string line = request.dump();
    Answers out;
    endpoint.handle(line, {42, 0, 0}, out);
    if (expect_blocking) {
      EXPECT_EQ(out.blocking.has_value(), *expect_blocking) << line;
    }
    if (out.blocking) {
      EXPECT_TRUE(out.replies.empty()) << "blocking work answers, not handle()";
      BlockingWork work = std::move(*out.blocking);
      out.blocking.reset();
      work.run(out);
    }
    for (auto& event : out.audit_events) events_.push_back(std::move(event));
    const ReplyBuffer& reply = out.replies;
    EXPECT_EQ(reply.find('\n'), reply.size() - 1) << "exactly one reply line";
    replies_ += std::string(reply.data(), reply.size());
    return Json::parse(std::string(reply.data(), reply.size() - 1));
  }

  // claim-create blocks when its input is valid and answers at once otherwise: run whichever it does.
  Json create(const Json& fields) {
    Json request{{"op", "claim-create"}};
    request.update(fields);
    return call(*admin_, request, std::nullopt);
  }

  std::string create_token(std::string_view value = kCanary, const std::string& project = "proj") {
    const Json reply = create({{"project", project}, {"value", value}, {"ttl_seconds", 600}});
    EXPECT_TRUE(reply["ok"]) << reply.dump();
    return reply.value("token", "");
  }

  // The audit events, which must never hold a token or a value.
  std::string audit_text() const {
    std::string text;
    for (const auto& event : events_) text += event.dump() + "\n";
    return text;
  }

  const nlohmann::json* last_event(std::string_view name) const {
    for (auto it = events_.rbegin(); it != events_.rend(); ++it) {
      if ((*it)["event"] == name) return &*it;
    }
    return nullptr;
  }

  DataPlaneGate gate(const std::string& project) { return DataPlaneGate(lock_, limiter_, project); }

  test_support::TempDir dir_;
  core::LockState lock_{dir_ / "state" / "locked.json"};
  core::RateLimiter limiter_{{0, 1000}};  // no limit: these tests are about the ledger
  NoSockets sockets_;
  ProjectRegistry registry_;
  BrokerState broker_;
  core::SecretStore store_;
  std::unique_ptr<AdminOps> admin_;
  std::unique_ptr<ProjectOps> proj_;
  std::unique_ptr<ProjectOps> other_;
  std::vector<nlohmann::json> events_;
  std::string replies_;
};

TEST_F(ClaimOpsTest, CreateReturnsIdTokenAndExpiryOnce) {
  const Json reply = create({{"project", "proj"}, {"value", kCanary}, {"ttl_seconds", 600}, {"id", 7}});
  ASSERT_TRUE(reply["ok"]) << reply.dump();
  EXPECT_EQ(reply["id"], 7);
  EXPECT_EQ(reply["claim_id"].get<std::string>().size(), 16u);
  const std::string token = reply["token"];
  EXPECT_EQ(token.rfind("rbc_", 0), 0u);
  EXPECT_EQ(token.size(), 47u);
  EXPECT_TRUE(reply["expires_at"].is_string());
  EXPECT_EQ(reply.size(), 5u) << reply.dump();  // ok, id, claim_id, expires_at, token

  const nlohmann::json* event = last_event("claim.create");
  ASSERT_NE(event, nullptr);
  EXPECT_EQ((*event)["claim_id"], reply["claim_id"]);
  EXPECT_EQ((*event)["project"], "proj");
  EXPECT_EQ((*event)["outcome"], "ok");
  EXPECT_EQ((*event)["peer"]["pid"], 42);
  EXPECT_EQ(audit_text().find(token), std::string::npos);
  EXPECT_EQ(audit_text().find(kCanary), std::string::npos);
  EXPECT_EQ(read_text(dir_ / "state" / "claims.enc").find(kCanary), std::string::npos);
}

TEST_F(ClaimOpsTest, ClaimIsExactlyOnce) {
  const std::string token = create_token();
  const Json first = call(*proj_, {{"op", "claim"}, {"token", token}, {"id", "a"}}, true);
  EXPECT_EQ(first, Json::parse(R"({"ok":true,"id":"a","value":")" + std::string(kCanary) + "\"}"));
  const Json second = call(*proj_, {{"op", "claim"}, {"token", token}}, true);
  EXPECT_FALSE(second["ok"]);
  EXPECT_EQ(second["code"], "not_found");

  const nlohmann::json* event = last_event("claim.claim");
  ASSERT_NE(event, nullptr);
  EXPECT_EQ((*event)["outcome"], "not_found");
  EXPECT_FALSE(event->contains("claim_id"));
  EXPECT_EQ(audit_text().find(token), std::string::npos);
  EXPECT_EQ(audit_text().find(kCanary), std::string::npos);
  EXPECT_EQ(broker_.claims->pending_count(), 0u);
}

TEST_F(ClaimOpsTest, BinaryValueComesBackAsValueB64) {
  const Json created = create({{"project", "proj"}, {"value_b64", "AAEC/w=="}, {"ttl_seconds", 60}});
  ASSERT_TRUE(created["ok"]) << created.dump();
  const Json claimed = call(*proj_, {{"op", "claim"}, {"token", created["token"]}}, true);
  EXPECT_EQ(claimed, Json::parse(R"({"ok":true,"value_b64":"AAEC/w=="})"));
}

TEST_F(ClaimOpsTest, EveryUnusableTokenGetsTheSameNotFound) {
  const std::string token = create_token();
  const Json foreign = call(*other_, {{"op", "claim"}, {"token", token}}, true);
  const std::string unknown = "rbc_" + std::string(43, 'A');
  const Json never = call(*proj_, {{"op", "claim"}, {"token", unknown}}, true);
  EXPECT_EQ(foreign["code"], "not_found");
  EXPECT_EQ(foreign, never);
  // The other project's attempt did not consume it.
  EXPECT_TRUE(call(*proj_, {{"op", "claim"}, {"token", token}}, true)["ok"]);
}

TEST_F(ClaimOpsTest, DeleteRemovesWithoutReading) {
  const std::string token = create_token();
  const Json deleted = call(*proj_, {{"op", "delete"}, {"token", token}}, true);
  EXPECT_EQ(deleted, Json::parse(R"({"ok":true})"));
  EXPECT_EQ(call(*proj_, {{"op", "claim"}, {"token", token}}, true)["code"], "not_found");
  EXPECT_EQ(call(*proj_, {{"op", "delete"}, {"token", token}}, true)["code"], "not_found");
  const nlohmann::json* event = last_event("claim.delete");
  ASSERT_NE(event, nullptr);
  EXPECT_EQ((*event)["outcome"], "not_found");
  EXPECT_EQ(replies_.find(kCanary), std::string::npos);
  const Json listed = call(*admin_, {{"op", "claim-list"}}, false);
  ASSERT_EQ(listed["claims"].size(), 1u);
  EXPECT_EQ(listed["claims"][0]["state"], "deleted");
}

TEST_F(ClaimOpsTest, MalformedTokensAreProtocolErrorsThatTouchNothing) {
  const std::string token = create_token();
  for (const Json& request : {
           Json{{"op", "claim"}},
           Json{{"op", "claim"}, {"token", 5}},
           Json{{"op", "claim"}, {"token", ""}},
           Json{{"op", "claim"}, {"token", "rbc_short"}},
           Json{{"op", "claim"}, {"token", token + "x"}},
           Json{{"op", "delete"}, {"token", "rbc_" + std::string(43, '!')}},
           Json{{"op", "claim"}, {"token", token}, {"extra", 1}},
       }) {
    const Json reply = call(*proj_, request, false);
    EXPECT_EQ(reply["code"], "protocol_error") << request.dump();
  }
  // The token appears once in everything said: in the create reply.
  EXPECT_EQ(replies_.find(token, replies_.find(token) + 1), std::string::npos) << "a reply quoted the token";
  EXPECT_TRUE(call(*proj_, {{"op", "claim"}, {"token", token}}, true)["ok"]);
}

TEST_F(ClaimOpsTest, CreateRejectsBadInputWithSpecificErrors) {
  const std::string big(core::ClaimLedger::kMaxValueBytes + 1, 'x');
  const std::vector<std::pair<Json, std::string>> cases = {
      {{{"project", "proj"}, {"value", "v"}}, "ttl_seconds' is required"},
      {{{"project", "proj"}, {"value", "v"}, {"ttl_seconds", 0}}, "ttl_seconds' must be between 1 and"},
      {{{"project", "proj"}, {"value", "v"}, {"ttl_seconds", -5}}, "ttl_seconds' must be between 1 and"},
      {{{"project", "proj"}, {"value", "v"}, {"ttl_seconds", 2592001}}, "ttl_seconds' must be between"},
      {{{"project", "proj"}, {"value", "v"}, {"ttl_seconds", 1.5}}, "ttl_seconds' must be an integer"},
      {{{"project", "proj"}, {"value", "v"}, {"ttl_seconds", "60"}}, "ttl_seconds' must be an integer"},
      {{{"project", "proj"}, {"ttl_seconds", 60}}, "'value' or field 'value_b64' is required"},
      {{{"project", "proj"}, {"value", "v"}, {"value_b64", "dg=="}, {"ttl_seconds", 60}}, "not both"},
      {{{"project", "proj"}, {"value", ""}, {"ttl_seconds", 60}}, "cannot be empty"},
      {{{"project", "proj"}, {"value_b64", ""}, {"ttl_seconds", 60}}, "cannot be empty"},
      {{{"project", "proj"}, {"value_b64", "not base64!"}, {"ttl_seconds", 60}}, "not valid base64"},
      {{{"project", "proj"}, {"value", big}, {"ttl_seconds", 60}}, "limited to 65536 bytes"},
      {{{"project", "Bad Name"}, {"value", "v"}, {"ttl_seconds", 60}}, "must be a project name"},
      {{{"value", "v"}, {"ttl_seconds", 60}}, "field 'project'"},
      {{{"project", "proj"}, {"value", "v"}, {"ttl_seconds", 60}, {"ttl", 1}}, "ttl"},
  };
  for (const auto& [fields, expected] : cases) {
    const Json reply = create(fields);
    EXPECT_FALSE(reply["ok"]) << fields.dump();
    EXPECT_EQ(reply["code"], "protocol_error") << fields.dump();
    EXPECT_NE(reply.value("message", "").find(expected), std::string::npos) << reply.dump();
  }
  const Json unknown = create({{"project", "ghost"}, {"value", kCanary}, {"ttl_seconds", 60}});
  EXPECT_EQ(unknown["code"], "project_unknown");
  EXPECT_EQ(broker_.claims->pending_count(), 0u);
  EXPECT_EQ(replies_.find(kCanary), std::string::npos);
  EXPECT_EQ(audit_text().find(kCanary), std::string::npos);
}

TEST_F(ClaimOpsTest, ListShowsStatesButNeverTokensOrValues) {
  const std::string pending = create_token(std::string(kCanary) + "-1");
  const std::string claimed = create_token(std::string(kCanary) + "-2");
  ASSERT_TRUE(call(*proj_, {{"op", "claim"}, {"token", claimed}}, true)["ok"]);
  const Json listed = call(*admin_, {{"op", "claim-list"}, {"id", 3}}, false);
  ASSERT_TRUE(listed["ok"]);
  ASSERT_EQ(listed["claims"].size(), 2u);
  EXPECT_EQ(listed["claims"][0]["state"], "pending");
  EXPECT_FALSE(listed["claims"][0].contains("finished_at"));
  EXPECT_EQ(listed["claims"][1]["state"], "claimed");
  EXPECT_TRUE(listed["claims"][1].contains("finished_at"));
  for (const auto& row : listed["claims"]) {
    EXPECT_EQ(row["project"], "proj");
    for (const auto& [key, value] : row.items()) {
      EXPECT_TRUE(key == "claim_id" || key == "project" || key == "state" || key == "created_at" ||
                  key == "expires_at" || key == "finished_at")
          << key;
    }
  }
  const std::string text = listed.dump();
  EXPECT_EQ(text.find(pending), std::string::npos);
  EXPECT_EQ(text.find(claimed), std::string::npos);
  EXPECT_EQ(text.find(kCanary), std::string::npos);
}

TEST_F(ClaimOpsTest, RevokeWithdrawsAPendingSecret) {
  const Json created = create({{"project", "proj"}, {"value", kCanary}, {"ttl_seconds", 60}});
  const std::string id = created["claim_id"];
  EXPECT_EQ(call(*admin_, {{"op", "claim-revoke"}, {"claim_id", id}}, true), Json::parse(R"({"ok":true})"));
  EXPECT_EQ(call(*proj_, {{"op", "claim"}, {"token", created["token"]}}, true)["code"], "not_found");
  EXPECT_EQ(call(*admin_, {{"op", "claim-revoke"}, {"claim_id", id}}, true)["code"], "not_found");
  EXPECT_EQ(call(*admin_, {{"op", "claim-revoke"}, {"claim_id", "0123456789abcdef"}}, true)["code"],
            "not_found");
  EXPECT_EQ(call(*admin_, {{"op", "claim-revoke"}, {"claim_id", "../x"}}, false)["code"], "protocol_error");
  EXPECT_EQ(call(*admin_, {{"op", "claim-revoke"}}, false)["code"], "protocol_error");
  const nlohmann::json* event = last_event("claim.revoke");
  ASSERT_NE(event, nullptr);
  EXPECT_EQ((*event)["claim_id"], "0123456789abcdef");
  EXPECT_EQ((*event)["outcome"], "not_found");
  const auto first = std::find_if(events_.begin(), events_.end(),
                                  [](const auto& e) { return e["event"] == "claim.revoke"; });
  EXPECT_EQ((*first)["project"], "proj");
  EXPECT_EQ((*first)["outcome"], "ok");
}

TEST_F(ClaimOpsTest, StatusCountsPendingClaims) {
  EXPECT_EQ(call(*admin_, {{"op", "status"}}, false)["claims_pending"], 0);
  create_token();
  create_token();
  EXPECT_EQ(call(*admin_, {{"op", "status"}}, false)["claims_pending"], 2);
}

TEST_F(ClaimOpsTest, WithoutALedgerEveryOpSaysWhy) {
  broker_.claims.reset();
  broker_.claims_error = "claims.enc: cannot decrypt the one-shot secret ledger";
  ProjectOps orphan(state("proj"), {}, store_, gate("proj"), ClaimPlane{nullptr, {}});
  const Json created = create({{"project", "proj"}, {"value", "v"}, {"ttl_seconds", 60}});
  EXPECT_EQ(created["code"], "internal_error");
  EXPECT_NE(created["message"].get<std::string>().find("cannot decrypt"), std::string::npos);
  EXPECT_EQ(call(*admin_, {{"op", "claim-list"}}, false)["code"], "internal_error");
  EXPECT_EQ(call(orphan, {{"op", "claim"}, {"token", "rbc_" + std::string(43, 'A')}}, false)["code"],
            "internal_error");
  const Json status = call(*admin_, {{"op", "status"}}, false);
  EXPECT_TRUE(status["claims_pending"].is_null());
  EXPECT_EQ(status["last_error"], *broker_.claims_error);
}

TEST_F(ClaimOpsTest, SecretFieldsAreWipedFromTheRequest) {
  Request request;
  ASSERT_TRUE(parse_request(R"({"op":"claim","token":"rbc_secret","n":1})", request));
  const std::string& text = request.body["token"].get_ref<const std::string&>();
  const char* bytes = text.data();
  const std::size_t size = text.size();
  wipe_string_field(request, "token");
  EXPECT_EQ(std::string(bytes, size), std::string(size, '\0'));
  wipe_string_field(request, "n");        // not a string: left alone
  wipe_string_field(request, "missing");  // absent: nothing happens
  EXPECT_EQ(request.body["n"], 1);
}

TEST_F(ClaimOpsTest, ExpiryWipesAndAuditsClaimsThatRanOut) {
  // A ledger whose clock runs an hour behind: a claim created now expired long ago by the real clock,
  // which is what the timer uses.
  open_ledger([] { return std::chrono::system_clock::now() - 1h; });
  admin_ = std::make_unique<AdminOps>(broker_, registry_);
  const Json created = create({{"project", "proj"}, {"value", kCanary}, {"ttl_seconds", 60}});
  ASSERT_TRUE(created["ok"]) << created.dump();
  const fs::path log = dir_ / "audit.log";
  {
    core::AuditLog audit({log});
    ClaimExpiry expiry(*broker_.claims, audit, 10ms);
    expiry.start();
    for (int i = 0; i < 500 && broker_.claims->pending_count() > 0; ++i) std::this_thread::sleep_for(10ms);
    expiry.stop();
    expiry.stop();  // idempotent
    EXPECT_EQ(expiry.expire_now(), 0u);
    audit.flush();
  }
  EXPECT_EQ(broker_.claims->pending_count(), 0u);
  const std::string text = read_text(log);
  const Json event = Json::parse(text.substr(0, text.find('\n')));
  EXPECT_EQ(event["event"], "claim.expired");
  EXPECT_EQ(event["claim_id"], created["claim_id"]);
  EXPECT_EQ(event["project"], "proj");
  EXPECT_EQ(event["outcome"], "ok");
  EXPECT_EQ(text.find(kCanary), std::string::npos);
  EXPECT_EQ(text.find(created["token"].get<std::string>()), std::string::npos);
  EXPECT_EQ(call(*admin_, {{"op", "claim-list"}}, false)["claims"][0]["state"], "expired");
}

}  // namespace
}  // namespace remo::server
