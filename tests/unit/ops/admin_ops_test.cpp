#include "broker/ops/admin_ops.hpp"

#include <gtest/gtest.h>
#include <sodium.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "broker/core/registrations.hpp"
#include "broker/core/state_file.hpp"
#include "tests/unit/support/temp_dir.hpp"

namespace remo::server {
namespace {

namespace fs = std::filesystem;
constexpr std::string_view kCanary = "CANARY-7c1e9a54d2b8-do-not-leak";

// Stands in for the asio listeners: records what the registry asks of its sockets.
struct FakeSocket : ProjectSocket {
  void start() override { ++started; }
  void drain() override { ++drained; }
  void close() override { ++closed; }
  int started = 0;
  int drained = 0;
  int closed = 0;
};

struct FakeSockets : ProjectSocketFactory {
  Result<std::shared_ptr<ProjectSocket>> bind(const core::Registration& registration,
                                              const fs::path& socket_path,
                                              std::shared_ptr<const ProjectState> state) override {
    if (fail_next) {
      fail_next = false;
      return Error{"internal_error", "socket " + socket_path.string() + ": cannot give it to group 5: EPERM"};
    }
    auto socket = std::make_shared<FakeSocket>();
    bound.push_back({registration, socket_path, std::move(state), socket});
    return std::shared_ptr<ProjectSocket>(socket);
  }
  struct Bound {
    core::Registration registration;
    fs::path socket_path;
    std::shared_ptr<const ProjectState> state;
    std::shared_ptr<FakeSocket> socket;
  };
  std::vector<Bound> bound;
  bool fail_next = false;
};

std::string base64(const std::vector<std::uint8_t>& bytes) {
  std::string text(sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(text.data(), text.size(), bytes.data(), bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  text.pop_back();
  return text;
}

std::vector<std::uint8_t> encrypt_to(const crypto::X25519Recipient& recipient, std::string_view plaintext) {
  const std::vector<crypto::X25519Recipient> recipients{recipient};
  auto ciphertext = crypto::encrypt(
      std::span(reinterpret_cast<const std::uint8_t*>(plaintext.data()), plaintext.size()), recipients);
  EXPECT_TRUE(ciphertext.ok());
  return *ciphertext;
}

std::string read_text(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The broker's kill switch and rate limiter, as the daemon creates them; returns the limiter for the
// registry.
core::RateLimiter* add_guards(BrokerState& broker, const fs::path& state_dir) {
  fs::create_directories(state_dir);
  broker.lock = std::make_unique<core::LockState>(state_dir / "locked.json");
  broker.rate_limiter = std::make_unique<core::RateLimiter>(core::RateLimiter::Limits{100, 200});
  return broker.rate_limiter.get();
}

class AdminOpsTest : public ::testing::Test {
 protected:
  AdminOpsTest()
      : registry_(dir_ / "run", dir_ / "state" / "registrations.json", sockets_,
                  add_guards(broker_, dir_ / "state")),
        ops_(broker_, registry_, [this] { ++changes_; }) {
    fs::create_directories(dir_ / "run");
    fs::create_directories(dir_ / "state");
    broker_.identities.push_back(crypto::X25519Identity::generate());
    broker_.recipient = broker_.identities[0].recipient().encode();
    broker_.decryption_key_source = "sandbox";
    broker_.secrets_file = dir_ / "state" / "secrets.enc";
    broker_.broker_uid = 1000;
  }

  Json call(const Json& request) {
    const std::string line = request.dump();
    Answers out;
    ops_.handle(line, {99, 0, 0}, out);
    for (auto& event : out.audit_events) events_.push_back(std::move(event));
    const ReplyBuffer& reply = out.replies;
    EXPECT_EQ(reply.find('\n'), reply.size() - 1) << "exactly one reply line";
    replies_ += std::string(reply.data(), reply.size());
    return Json::parse(std::string(reply.data(), reply.size() - 1));
  }

  Json push(std::string_view bundle) {
    return call({{"op", "push-creds"},
                 {"ciphertext_b64", base64(encrypt_to(broker_.identities[0].recipient(), bundle))}});
  }

  fs::path make_project(const std::string& name, const std::string& allow = R"("GITHUB_TOKEN")",
                        const std::string& extra = "") {
    const fs::path project = dir_ / "projects" / name;
    fs::create_directories(project / ".devcontainer");
    std::ofstream(project / ".devcontainer" / "remo-broker.toml")
        << "schema_version = 1\n[project]\nname = \"" << name << "\"\n[allowlist]\nsecrets = [" << allow
        << "]\n"
        << extra;
    return project;
  }

  bool admit(const PeerCredentials& peer) {
    Answers out;
    const bool admitted = ops_.admit(peer, out);
    for (auto& event : out.audit_events) events_.push_back(std::move(event));
    return admitted;
  }

  std::string audit_text() const {
    std::string text;
    for (const auto& event : events_) text += event.dump() + "\n";
    return text;
  }

  std::string secret(std::string_view name) {
    const auto snapshot = broker_.store.snapshot();
    const core::SecretEntry* value = snapshot->secrets->find(name);
    return value == nullptr ? "<absent>" : std::string(value->bytes.view());
  }

  test_support::TempDir dir_;
  BrokerState broker_;
  FakeSockets sockets_;
  int changes_ = 0;  // calls of the change hook
  ProjectRegistry registry_;
  AdminOps ops_;
  std::string replies_;                 // every reply line, for canary checks
  std::vector<nlohmann::json> events_;  // every audit event the ops produced
};

TEST_F(AdminOpsTest, StatusDescribesAFreshBroker) {
  const Json status = call({{"op", "status"}, {"id", "s"}});
  EXPECT_EQ(status["ok"], true);
  EXPECT_EQ(status["id"], "s");
  EXPECT_EQ(status["broker_version"], REMO_BROKER_VERSION);
  EXPECT_EQ(status["protocol_version"], 2);
  EXPECT_TRUE(status["uptime_seconds"].is_number_integer());
  EXPECT_TRUE(status["secrets_loaded_at"].is_null());
  EXPECT_EQ(status["secret_count"], 0);
  EXPECT_EQ(status["recipient"], broker_.recipient);
  EXPECT_EQ(status["decryption_key_source"], "sandbox");
  EXPECT_EQ(status["projects"], Json::array());
  EXPECT_TRUE(status["last_error"].is_null());
  EXPECT_EQ(call({{"op", "get-public-key"}}), (Json{{"ok", true}, {"recipient", broker_.recipient}}));
}

TEST_F(AdminOpsTest, APushIsDecryptedStoredAsCiphertextAndSwappedIn) {
  const Json reply = push("GITHUB_TOKEN = \"" + std::string(kCanary) + "\"\nOTHER = \"o\"\n");
  ASSERT_EQ(reply["ok"], true) << reply;
  EXPECT_EQ(reply["secret_count"], 2);
  EXPECT_TRUE(reply["loaded_at"].get<std::string>().ends_with("Z"));
  EXPECT_EQ(secret("GITHUB_TOKEN"), kCanary);
  ASSERT_TRUE(fs::exists(broker_.secrets_file));
  EXPECT_EQ(read_text(broker_.secrets_file).find(kCanary), std::string::npos);
  EXPECT_EQ(fs::status(broker_.secrets_file).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);

  const Json status = call({{"op", "status"}});
  EXPECT_EQ(status["secret_count"], 2);
  EXPECT_EQ(status["secrets_loaded_at"], reply["loaded_at"]);

  const auto& lines = events_;
  ASSERT_EQ(lines.size(), 1U);
  EXPECT_EQ(lines[0]["event"], "creds.push");
  EXPECT_EQ(lines[0]["outcome"], "ok");
  EXPECT_EQ(lines[0]["secret_count"], 2);
  EXPECT_EQ(lines[0]["ciphertext_sha256"].get<std::string>().size(), 64U);
  EXPECT_EQ(audit_text().find(kCanary), std::string::npos);
  EXPECT_EQ(replies_.find(kCanary), std::string::npos);
}

TEST_F(AdminOpsTest, WrappedBase64IsAcceptedAndNonCanonicalIsNot) {
  const std::string encoded = base64(encrypt_to(broker_.identities[0].recipient(), "A = \"a\"\n"));
  std::string wrapped;  // as `base64` prints it: lines of 76 characters
  for (std::size_t at = 0; at < encoded.size(); at += 76) wrapped += encoded.substr(at, 76) + "\n";
  EXPECT_EQ(call({{"op", "push-creds"}, {"ciphertext_b64", wrapped}})["secret_count"], 1);
  EXPECT_EQ(call({{"op", "push-creds"}, {"ciphertext_b64", "YWdl"}})["code"], "decrypt_failed");
  EXPECT_EQ(call({{"op", "push-creds"}, {"ciphertext_b64", "YWdl="}})["code"], "protocol_error");
  EXPECT_EQ(call({{"op", "push-creds"}, {"ciphertext_b64", "YW\u00e9l"}})["code"], "protocol_error");
}

TEST_F(AdminOpsTest, ABadPushChangesNothing) {
  ASSERT_EQ(push("GITHUB_TOKEN = \"first\"\n")["ok"], true);
  const std::string stored = read_text(broker_.secrets_file);

  EXPECT_EQ(call({{"op", "push-creds"}, {"ciphertext_b64", "not base64!"}})["code"], "protocol_error");
  EXPECT_EQ(call({{"op", "push-creds"}})["code"], "protocol_error");

  const Json not_an_age_file = call({{"op", "push-creds"}, {"ciphertext_b64", "bm90IGFuIGFnZSBmaWxl"}});
  EXPECT_EQ(not_an_age_file["code"], "decrypt_failed");

  const auto stranger = crypto::X25519Identity::generate();
  const Json wrong_key =
      call({{"op", "push-creds"},
            {"ciphertext_b64",
             base64(encrypt_to(stranger.recipient(), "A = \"" + std::string(kCanary) + "\"\n"))}});
  EXPECT_EQ(wrong_key["code"], "decrypt_failed");
  EXPECT_NE(wrong_key["message"].get<std::string>().find("no_identity_matched"), std::string::npos);

  const Json invalid = push("bad-name = \"" + std::string(kCanary) + "\"\n");
  EXPECT_EQ(invalid["code"], "invalid_payload");

  EXPECT_EQ(secret("GITHUB_TOKEN"), "first");
  EXPECT_EQ(read_text(broker_.secrets_file), stored);
  EXPECT_EQ(changes_, 1) << "only the first push changed anything";
  EXPECT_EQ(replies_.find(kCanary), std::string::npos);
  const auto& lines = events_;
  ASSERT_EQ(lines.size(), 4U) << "the first push and three that failed after decoding";
  EXPECT_EQ(lines[1]["outcome"], "decrypt_failed");
  EXPECT_EQ(lines[3]["outcome"], "invalid_payload");
  EXPECT_EQ(audit_text().find(kCanary), std::string::npos);
}

TEST_F(AdminOpsTest, ClearWipesMemoryAndRemovesTheBundleFile) {
  ASSERT_EQ(push("GITHUB_TOKEN = \"x\"\n")["ok"], true);
  EXPECT_EQ(call({{"op", "clear-creds"}}), (Json{{"ok", true}}));
  EXPECT_EQ(secret("GITHUB_TOKEN"), "<absent>");
  EXPECT_FALSE(fs::exists(broker_.secrets_file));
  const Json status = call({{"op", "status"}});
  EXPECT_TRUE(status["secrets_loaded_at"].is_null());
  EXPECT_EQ(status["secret_count"], 0);
  EXPECT_EQ(events_.back()["event"], "creds.clear");
}

TEST_F(AdminOpsTest, RegisterBindsPersistsAndStartsTheProjectSocket) {
  const fs::path project = make_project("myrepo");
  const Json reply = call({{"op", "register"},
                           {"name", "myrepo"},
                           {"project_path", project.string() + "/"},
                           {"uids", {1000, 1001}},
                           {"gid", 100}});
  ASSERT_EQ(reply["ok"], true) << reply;
  EXPECT_EQ(reply["socket_path"], (dir_ / "run" / "myrepo.sock").string());
  ASSERT_EQ(sockets_.bound.size(), 1U);
  EXPECT_EQ(sockets_.bound[0].registration.gid, 100U);
  EXPECT_EQ(sockets_.bound[0].registration.uids, (std::vector<uid_t>{1000, 1001}));
  EXPECT_EQ(sockets_.bound[0].socket->started, 1);
  EXPECT_EQ(sockets_.bound[0].state->policy()->allowlist, (std::vector<std::string>{"GITHUB_TOKEN"}));

  const auto saved = core::load_registrations(dir_ / "state" / "registrations.json");
  ASSERT_TRUE(saved.ok());
  ASSERT_EQ(saved->size(), 1U);
  EXPECT_EQ((*saved)[0].project_path, project);

  EXPECT_EQ((*saved)[0].policy->allowlist, (std::vector<std::string>{"GITHUB_TOKEN"}))
      << "recorded as approved";
  EXPECT_EQ(events_.back()["event"], "project.register");
  EXPECT_EQ(events_.back()["manifest_sha256"], (*saved)[0].policy->manifest_sha256);

  const Json status = call({{"op", "status"}});
  EXPECT_EQ(status["projects"],
            Json::parse(R"([{"name":"myrepo","socket_path":")" + (dir_ / "run" / "myrepo.sock").string() +
                        R"(","project_path":")" + project.string() +
                        R"(","uids":[1000,1001],"gid":100,"allowlist_size":1,"manifest_sha256":")" +
                        (*saved)[0].policy->manifest_sha256 +
                        R"(","rate_limit":{"requests_per_second":100,"burst":200},"manifest_drift":null}])"));
}

TEST_F(AdminOpsTest, RegisterRefusesWhatItCannotServe) {
  const fs::path project = make_project("myrepo");
  ASSERT_EQ(call({{"op", "register"}, {"name", "myrepo"}, {"project_path", project.string()}})["ok"], true);
  EXPECT_EQ(call({{"op", "register"}, {"name", "myrepo"}, {"project_path", project.string()}})["code"],
            "project_exists");
  fs::create_directories(dir_ / "projects" / "bare");
  EXPECT_EQ(call({{"op", "register"},
                  {"name", "bare"},
                  {"project_path", (dir_ / "projects" / "bare").string()}})["code"],
            "manifest_not_found");
  const fs::path other = make_project("other");
  EXPECT_EQ(call({{"op", "register"}, {"name", "mismatch"}, {"project_path", other.string()}})["code"],
            "manifest_invalid");
  EXPECT_EQ(call({{"op", "register"}, {"name", "Bad Name"}, {"project_path", other.string()}})["code"],
            "protocol_error");
  EXPECT_EQ(call({{"op", "register"}, {"name", "other"}, {"project_path", "projects/other"}})["code"],
            "protocol_error");
  EXPECT_EQ(
      call(
          {{"op", "register"}, {"name", "other"}, {"project_path", other.string()}, {"uid", {1000}}})["code"],
      "protocol_error");
  EXPECT_EQ(call({{"op", "register"},
                  {"name", "other"},
                  {"project_path", other.string()},
                  {"uids", Json::array()}})["code"],
            "protocol_error");
  const fs::path admin = make_project("admin");
  EXPECT_EQ(call({{"op", "register"}, {"name", "admin"}, {"project_path", admin.string()}})["code"],
            "protocol_error");
  EXPECT_EQ(sockets_.bound.size(), 1U);
}

TEST_F(AdminOpsTest, ASocketThatCannotBeBoundLeavesNothingRegistered) {
  const fs::path project = make_project("myrepo");
  sockets_.fail_next = true;
  const Json reply =
      call({{"op", "register"}, {"name", "myrepo"}, {"project_path", project.string()}, {"gid", 5}});
  EXPECT_EQ(reply["code"], "internal_error");
  EXPECT_FALSE(fs::exists(dir_ / "state" / "registrations.json"));
  EXPECT_EQ(call({{"op", "status"}})["projects"], Json::array());
  EXPECT_EQ(events_.back()["outcome"], "internal_error");
}

TEST_F(AdminOpsTest, UnregisterClosesTheSocketAndForgetsTheProject) {
  const fs::path project = make_project("myrepo");
  ASSERT_EQ(call({{"op", "register"}, {"name", "myrepo"}, {"project_path", project.string()}})["ok"], true);
  EXPECT_EQ(call({{"op", "unregister"}, {"name", "myrepo"}}), (Json{{"ok", true}}));
  EXPECT_EQ(sockets_.bound[0].socket->closed, 1);
  EXPECT_TRUE(core::load_registrations(dir_ / "state" / "registrations.json")->empty());
  EXPECT_EQ(call({{"op", "unregister"}, {"name", "myrepo"}})["code"], "project_unknown");
  EXPECT_EQ(call({{"op", "reload"}, {"name", "myrepo"}})["code"], "project_unknown");
}

TEST_F(AdminOpsTest, ReloadSwapsTheAllowlistAndKeepsTheOldOneOnError) {
  const fs::path project = make_project("myrepo");
  ASSERT_EQ(call({{"op", "register"}, {"name", "myrepo"}, {"project_path", project.string()}})["ok"], true);
  make_project("myrepo", R"("GITHUB_TOKEN", "NPM_TOKEN")");
  const Json reloaded = call({{"op", "reload"}, {"name", "myrepo"}});
  EXPECT_EQ(reloaded["dry_run"], false);
  EXPECT_EQ(reloaded["allowlist"], (Json{"GITHUB_TOKEN", "NPM_TOKEN"}));
  EXPECT_EQ(reloaded["rate_limit"], (Json{{"requests_per_second", 100}, {"burst", 200}}));
  EXPECT_EQ(reloaded["added"], (Json{"NPM_TOKEN"}));
  EXPECT_EQ(reloaded["removed"], Json::array());
  EXPECT_EQ(reloaded["changed"], Json::object());
  EXPECT_EQ(reloaded["manifest_sha256"].get<std::string>().size(), 64U);
  EXPECT_EQ(sockets_.bound[0].state->policy()->allowlist.size(), 2U);
  EXPECT_EQ(sockets_.bound.size(), 1U) << "the socket stays up";

  std::ofstream(project / ".devcontainer" / "remo-broker.toml") << "schema_version = 1\nsurprise = true\n";
  const Json failed = call({{"op", "reload"}, {"name", "myrepo"}});
  EXPECT_EQ(failed["code"], "manifest_invalid");
  EXPECT_EQ(sockets_.bound[0].state->policy()->allowlist.size(), 2U);
}

TEST_F(AdminOpsTest, RestoreKeepsProjectsWhoseManifestBrokeAndReportsThem) {
  const fs::path good = make_project("good");
  const fs::path broken = make_project("broken");
  ASSERT_TRUE(core::save_registrations(dir_ / "state" / "registrations.json",
                                       {{"good", good, {}, std::nullopt, std::nullopt, std::nullopt},
                                        {"broken", broken, {}, std::nullopt, std::nullopt, std::nullopt}})
                  .ok());
  fs::remove(broken / ".devcontainer" / "remo-broker.toml");
  (void)registry_.restore();
  const Json projects = call({{"op", "status"}})["projects"];
  ASSERT_EQ(projects.size(), 2U);
  EXPECT_EQ(projects[0]["name"], "broken");
  EXPECT_EQ(projects[0]["allowlist_size"], 0);
  EXPECT_TRUE(projects[0]["error"].is_string());
  EXPECT_EQ(projects[1]["name"], "good");
  EXPECT_FALSE(projects[1].contains("error"));
}

TEST_F(AdminOpsTest, RestoreServesTheApprovedPolicyNotTheRewrittenManifest) {
  const fs::path project = make_project("myrepo");
  ASSERT_EQ(call({{"op", "register"}, {"name", "myrepo"}, {"project_path", project.string()}})["ok"], true);
  make_project("myrepo", R"("GITHUB_TOKEN", "PROD_DB_PASSWORD")");
  ProjectRegistry restarted(dir_ / "run2", dir_ / "state" / "registrations.json", sockets_, nullptr);
  const std::vector<nlohmann::json> events = restarted.restore();
  EXPECT_EQ(restarted.projects().at("myrepo").state->policy()->allowlist,
            std::vector<std::string>{"GITHUB_TOKEN"});
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0]["event"], "manifest.changed");
  EXPECT_EQ(events[0]["added"], nlohmann::json{"PROD_DB_PASSWORD"});
  ProjectRegistry again(dir_ / "run3", dir_ / "state" / "registrations.json", sockets_, nullptr);
  EXPECT_TRUE(again.restore().empty()) << "the same content is reported once";
}

TEST_F(AdminOpsTest, DryRunReloadShowsTheDiffAndChangesNothing) {
  const fs::path project = make_project("myrepo");
  ASSERT_EQ(call({{"op", "register"}, {"name", "myrepo"}, {"project_path", project.string()}})["ok"], true);
  make_project("myrepo", R"("NPM_TOKEN")", "[limits]\nburst = 7\n");
  const Json dry = call({{"op", "reload"}, {"name", "myrepo"}, {"dry_run", true}});
  EXPECT_EQ(dry["dry_run"], true);
  EXPECT_EQ(dry["added"], (Json{"NPM_TOKEN"}));
  EXPECT_EQ(dry["removed"], (Json{"GITHUB_TOKEN"}));
  EXPECT_EQ(dry["changed"], (Json{{"limits.burst", {{"from", nullptr}, {"to", 7}}}}));
  EXPECT_EQ(dry["allowlist"], (Json{"GITHUB_TOKEN"}));
  EXPECT_EQ(sockets_.bound[0].state->policy()->allowlist, std::vector<std::string>{"GITHUB_TOKEN"});
  const Json drift = call({{"op", "status"}})["projects"][0]["manifest_drift"];
  EXPECT_EQ(drift["added"], (Json{"NPM_TOKEN"}));
  EXPECT_EQ(call({{"op", "reload"}, {"name", "myrepo"}, {"dry_run", "yes"}})["code"], "protocol_error");
}

TEST_F(AdminOpsTest, OnlyRootAndTheBrokersUidAreAdmitted) {
  EXPECT_TRUE(admit({1, 0, 0}));
  EXPECT_TRUE(admit({1, 1000, 1000}));
  EXPECT_FALSE(admit({1, 1001, 1001}));
  const auto& lines = events_;
  ASSERT_EQ(lines.size(), 1U);
  EXPECT_EQ(lines[0]["event"], "peer.rejected");
  EXPECT_EQ(lines[0]["socket"], "admin");
}

TEST_F(AdminOpsTest, UnknownOpsAndFieldsAreProtocolErrors) {
  EXPECT_EQ(call({{"op", "frobnicate"}})["message"], "unknown op 'frobnicate'");
  EXPECT_EQ(call({{"op", "status"}, {"verbose", true}})["code"], "protocol_error");
}

// ---- kill switch
// --------------------------------------------------------------------------------------------

TEST_F(AdminOpsTest, StatusShowsTheLockTheRateLimitAndWhetherPushesMustBeSigned) {
  const Json status = call({{"op", "status"}});
  EXPECT_EQ(status["locked"], false);
  EXPECT_TRUE(status["locked_at"].is_null());
  EXPECT_TRUE(status["lock_reason"].is_null());
  EXPECT_TRUE(status["lock_error"].is_null());
  EXPECT_EQ(status["rate_limit"], (Json{{"requests_per_second", 100}, {"burst", 200}}));
  EXPECT_EQ(status["signed_pushes_required"], false);
}

TEST_F(AdminOpsTest, LockAndUnlockAreIdempotentPersistentAndAudited) {
  const Json locked = call({{"op", "lock"}, {"reason", "laptop stolen"}, {"id", 1}});
  EXPECT_EQ(locked["ok"], true);
  EXPECT_EQ(locked["id"], 1);
  EXPECT_EQ(locked["locked"], true);
  EXPECT_EQ(locked["changed"], true);
  EXPECT_EQ(locked["lock_reason"], "laptop stolen");
  ASSERT_TRUE(locked["locked_at"].is_string());
  EXPECT_TRUE(broker_.lock->is_locked());
  EXPECT_TRUE(core::LockState(dir_ / "state" / "locked.json").is_locked()) << "saved before the reply";

  const Json again = call({{"op", "lock"}, {"reason", "another reason"}});
  EXPECT_EQ(again["changed"], false);
  EXPECT_EQ(again["locked_at"], locked["locked_at"]);
  EXPECT_EQ(again["lock_reason"], "laptop stolen") << "the first lock's reason stays";

  const Json status = call({{"op", "status"}});
  EXPECT_EQ(status["locked"], true);
  EXPECT_EQ(status["locked_at"], locked["locked_at"]);
  EXPECT_EQ(status["lock_reason"], "laptop stolen");
  EXPECT_EQ(changes_, 1) << "only a real change updates the sd_notify status";

  EXPECT_EQ(call({{"op", "unlock"}}), (Json{{"ok", true}, {"locked", false}, {"changed", true}}));
  EXPECT_EQ(call({{"op", "unlock"}}), (Json{{"ok", true}, {"locked", false}, {"changed", false}}));
  EXPECT_FALSE(core::LockState(dir_ / "state" / "locked.json").is_locked());
  EXPECT_EQ(call({{"op", "status"}})["locked"], false);

  ASSERT_EQ(events_.size(), 4U);
  EXPECT_EQ(events_[0]["event"], "broker.lock");
  EXPECT_EQ(events_[0]["reason"], "laptop stolen");
  EXPECT_EQ(events_[0]["changed"], true);
  EXPECT_EQ(events_[0]["peer"], (nlohmann::json{{"pid", 99}, {"uid", 0}, {"gid", 0}}));
  EXPECT_EQ(events_[0]["outcome"], "ok");
  EXPECT_EQ(events_[1]["changed"], false);
  EXPECT_EQ(events_[2]["event"], "broker.unlock");
  EXPECT_EQ(events_[2]["changed"], true);
  EXPECT_EQ(events_[3]["changed"], false);
}

TEST_F(AdminOpsTest, ALockWithoutAReasonIsFine) {
  const Json locked = call({{"op", "lock"}});
  EXPECT_EQ(locked["locked"], true);
  EXPECT_EQ(locked["lock_reason"], "");
}

TEST_F(AdminOpsTest, BadLockRequestsAreProtocolErrorsAndLockNothing) {
  for (const Json& request :
       {Json{{"op", "lock"}, {"reason", 7}}, Json{{"op", "lock"}, {"reason", std::string(257, 'x')}},
        Json{{"op", "lock"}, {"reason", "two\nlines"}}, Json{{"op", "lock"}, {"why", "typo"}},
        Json{{"op", "unlock"}, {"force", true}}}) {
    const Json reply = call(request);
    EXPECT_EQ(reply["code"], "protocol_error") << request.dump();
  }
  EXPECT_FALSE(broker_.lock->is_locked());
  EXPECT_TRUE(events_.empty());
}

TEST_F(AdminOpsTest, AnUnsavableUnlockKeepsTheBrokerLocked) {
  ASSERT_EQ(call({{"op", "lock"}})["ok"], true);
  fs::remove(dir_ / "state" / "locked.json");
  fs::create_directory(dir_ / "state" / "locked.json");  // the rename onto it fails
  const Json reply = call({{"op", "unlock"}});
  EXPECT_EQ(reply["code"], "internal_error");
  EXPECT_TRUE(broker_.lock->is_locked());
  EXPECT_EQ(events_.back()["outcome"], "internal_error");
}

// ---- rate limits from manifests -----------------------------------------------------------------------

TEST_F(AdminOpsTest, AManifestsLimitsTightenTheDefaultAndReloadPicksThemUp) {
  const fs::path project = make_project("myrepo", R"("GITHUB_TOKEN")", "[limits]\nrequests_per_second = 5\n");
  ASSERT_EQ(call({{"op", "register"}, {"name", "myrepo"}, {"project_path", project.string()}})["ok"], true);
  EXPECT_EQ(broker_.rate_limiter->limits_for("myrepo"), (core::RateLimiter::Limits{5, 200}));
  EXPECT_EQ(call({{"op", "status"}})["projects"][0]["rate_limit"],
            (Json{{"requests_per_second", 5}, {"burst", 200}}));

  make_project("myrepo", R"("GITHUB_TOKEN")", "[limits]\nrequests_per_second = 5000\nburst = 2\n");
  const Json reloaded = call({{"op", "reload"}, {"name", "myrepo"}});
  EXPECT_EQ(reloaded["rate_limit"], (Json{{"requests_per_second", 100}, {"burst", 2}}))
      << "a looser rate is capped at the broker default";

  make_project("myrepo");
  EXPECT_EQ(call({{"op", "reload"}, {"name", "myrepo"}})["rate_limit"],
            (Json{{"requests_per_second", 100}, {"burst", 200}}));

  make_project("myrepo", R"("GITHUB_TOKEN")", "[limits]\nrequests_per_second = 0\n");
  const Json refused = call({{"op", "reload"}, {"name", "myrepo"}});
  EXPECT_EQ(refused["code"], "manifest_invalid");
  EXPECT_NE(refused["message"].get<std::string>().find("limits.requests_per_second"), std::string::npos);

  ASSERT_EQ(call({{"op", "unregister"}, {"name", "myrepo"}})["ok"], true);
  EXPECT_EQ(broker_.rate_limiter->limits_for("myrepo"), broker_.rate_limiter->defaults()) << "forgotten";
}

}  // namespace
}  // namespace remo::server
