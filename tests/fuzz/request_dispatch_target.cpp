// Fuzz target: NDJSON request lines through the session's framing (LineBuffer), the request parser and the
// op dispatch of both endpoints, against a sandboxed broker: every line goes to the admin socket's ops,
// then (if it fits the project line limit) to the project socket's ops of the registered project "demo".
// The two share the secret store, so a push-creds line changes what a later get answers.
//
// Each input starts from the same state: the test identity, a bundle holding canary values, and "demo"
// registered from a manifest in the sandbox. "@SANDBOX@" in a line stands for the sandbox directory, so
// seeds can register, reload and unregister projects there. The ops are built for each input; the broker
// (its state, the registry, the state files) once, and again only after an input changed it: most inputs
// are refused before they change anything, and an input's time and coverage are then its own, not the
// set-up's. The sandbox is on tmpfs (/dev/shm) when there is one.
//
// Invariants: one reply line per request, a JSON object with a boolean "ok"; a failure carries a string
// code and message; no failure reply and no audit event carries a secret value.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "broker/core/secret_set.hpp"
#include "broker/lifecycle/broker_state.hpp"
#include "broker/lifecycle/project_registry.hpp"
#include "broker/ops/admin_ops.hpp"
#include "broker/ops/project_ops.hpp"
#include "broker/transport/line_buffer.hpp"
#include "protocol/codes.hpp"
#include "tests/fuzz/fuzz_targets.hpp"
#include "tests/fuzz/fuzz_test_keys.hpp"

namespace remo::fuzz {
namespace {

namespace fs = std::filesystem;
using server::Answers;
using server::Json;

constexpr std::string_view kCanary = "CANARY-fuzz-5e0b7d19";
constexpr std::string_view kSandboxToken = "@SANDBOX@";

// The bundle every input starts with: "demo" may read GITHUB_TOKEN; NPM_TOKEN is loaded but not allowed.
std::string initial_bundle() {
  return "GITHUB_TOKEN = \"" + std::string(kCanary) + "-github\"\nNPM_TOKEN = \"" + std::string(kCanary) +
         "-npm\"\nBLOB = { value_b64 = \"AAEC/w==\" }\n";
}

// No listener is involved: the registry's sockets are recorded, never bound.
struct UnboundSocket final : server::ProjectSocket {
  void start() override {}
  void drain() override {}
  void close() override {}
};

struct UnboundSockets final : server::ProjectSocketFactory {
  Result<std::shared_ptr<server::ProjectSocket>> bind(
      const core::Registration& /*registration*/, const fs::path& /*socket_path*/,
      std::shared_ptr<const server::ProjectState> /*state*/) override {
    return std::shared_ptr<server::ProjectSocket>(std::make_shared<UnboundSocket>());
  }
};

// A private directory for the whole process, removed at exit.
class SandboxDir {
 public:
  SandboxDir() {
    const fs::path shm = "/dev/shm";
    const fs::path base = ::access(shm.c_str(), W_OK | X_OK) == 0 ? shm : fs::temp_directory_path();
    std::string pattern = (base / "remo-fuzz-XXXXXX").string();
    fuzz_require(::mkdtemp(pattern.data()) != nullptr, "mkdtemp works");
    path_ = pattern;
    write_manifest("demo", "\"GITHUB_TOKEN\", \"BLOB\"");
    write_manifest("other", "");
  }
  ~SandboxDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  SandboxDir(const SandboxDir&) = delete;
  SandboxDir& operator=(const SandboxDir&) = delete;

  const fs::path& path() const noexcept { return path_; }

  // What the state and socket directories hold: each entry's name, inode, size and modification time. A
  // state file is replaced by rename (a new inode) or rewritten (a new mtime).
  using Fingerprint = std::vector<std::tuple<std::string, ino_t, off_t, std::int64_t>>;
  Fingerprint fingerprint() const {
    Fingerprint entries;
    for (const char* dir : {"state", "run"}) {
      std::error_code error;
      for (const auto& entry : fs::directory_iterator(path_ / dir, error)) {
        struct stat info {};
        if (::lstat(entry.path().c_str(), &info) != 0) continue;
        entries.emplace_back(entry.path().string(), info.st_ino, info.st_size,
                             std::int64_t{info.st_mtim.tv_sec} * 1'000'000'000 + info.st_mtim.tv_nsec);
      }
    }
    std::sort(entries.begin(), entries.end());
    return entries;
  }

  // Empty state and socket directories.
  void reset_state() const {
    for (const char* dir : {"state", "run"}) {
      fs::remove_all(path_ / dir);
      fs::create_directories(path_ / dir);
    }
  }

 private:
  void write_manifest(const std::string& name, const std::string& allow) const {
    const fs::path project = path_ / "projects" / name;
    fs::create_directories(project / ".devcontainer");
    std::ofstream(project / ".devcontainer" / "remo-broker.toml")
        << "schema_version = 1\n[project]\nname = \"" << name << "\"\n[allowlist]\nsecrets = [" << allow
        << "]\n";
  }

  fs::path path_;
};

const SandboxDir& sandbox() {
  static const SandboxDir dir;
  return dir;
}

std::string expand_sandbox(std::string_view line) {
  std::string out;
  std::size_t from = 0;
  for (std::size_t at; (at = line.find(kSandboxToken, from)) != std::string_view::npos;
       from = at + kSandboxToken.size()) {
    out.append(line.substr(from, at - from));
    out.append(sandbox().path().string());
  }
  out.append(line.substr(from));
  return out;
}

void check_answers(const Answers& out) {
  const std::string_view reply(out.replies.data(), out.replies.size());
  fuzz_require(!reply.empty() && reply.find('\n') == reply.size() - 1, "exactly one reply line per request");
  const Json parsed = Json::parse(reply.substr(0, reply.size() - 1), nullptr, /*allow_exceptions=*/false);
  fuzz_require(parsed.is_object(), "the reply is a JSON object");
  fuzz_require(parsed.contains("ok") && parsed["ok"].is_boolean(), "the reply has a boolean ok");
  if (!parsed["ok"].get<bool>()) {
    fuzz_require(parsed.contains("code") && parsed["code"].is_string(), "a failure reply has a code");
    fuzz_require(parsed.contains("message") && parsed["message"].is_string(),
                 "a failure reply has a message");
    fuzz_require(reply.find(kCanary) == std::string_view::npos, "a failure reply carries no secret value");
  }
  for (const auto& event : out.audit_events) {
    fuzz_require(
        event.dump(-1, ' ', false, Json::error_handler_t::replace).find(kCanary) == std::string::npos,
        "an audit event carries no secret value");
  }
  for (const auto& line : out.audit_lines) {
    fuzz_require(Json::parse(line, nullptr, false).is_object(), "an audit line is a JSON object");
    fuzz_require(line.find(kCanary) == std::string::npos, "an audit line carries no secret value");
  }
}

// The broker every input starts with: built once, and built again (in emptied state and socket
// directories) only after an input changed it.
struct SandboxBroker {
  SandboxBroker()
      : registry(sandbox().path() / "run", sandbox().path() / "state" / "registrations.json", sockets) {
    auto identity = crypto::X25519Identity::parse(kTestIdentity);
    fuzz_require(identity.ok(), "the test identity parses");
    broker.identities.push_back(std::move(identity).value());
    broker.recipient = broker.identities[0].recipient().encode();
    broker.decryption_key_source = "sandbox";
    broker.secrets_file = sandbox().path() / "state" / "secrets.enc";
    broker.broker_uid = ::getuid();
    auto secrets = core::SecretSet::parse_bundle(initial_bundle());
    fuzz_require(secrets.ok(), "the initial bundle parses");
    broker.store.replace(std::move(secrets).value(), std::chrono::system_clock::now());
    auto demo = registry.add(
        {"demo", sandbox().path() / "projects" / "demo", {}, std::nullopt, std::nullopt, std::nullopt});
    fuzz_require(demo.ok(), "the demo project registers");
    demo_state = (*demo)->state;
    demo_policy = demo_state->policy();
    demo_socket = (*demo)->socket;
    recipient = broker.identities[0].recipient();
    secrets_snapshot = broker.store.snapshot();
    files = sandbox().fingerprint();
  }

  // Whether the broker is as built: every BrokerState field an op can change, the registry, the files.
  bool unchanged() const {
    const auto& projects = registry.projects();
    return broker.store.snapshot() == secrets_snapshot && broker.identities.size() == 1 &&
           broker.identities[0].recipient() == recipient && broker.recipient == recipient.encode() &&
           broker.decryption_key_source == "sandbox" && !broker.bundle_error && !broker.claims &&
           !broker.claims_error && !broker.lock && !broker.rate_limiter && broker.audit == nullptr &&
           !broker.allowed_signers && !broker.rotation && !broker.bootstrap_error && projects.size() == 1 &&
           projects.begin()->first == "demo" && projects.begin()->second.state == demo_state &&
           projects.begin()->second.socket == demo_socket && demo_state->policy() == demo_policy &&
           !registry.persistence_error() && sandbox().fingerprint() == files;
  }

  server::BrokerState broker;
  UnboundSockets sockets;
  server::ProjectRegistry registry;
  std::shared_ptr<const server::ProjectState> demo_state;
  // As built, for unchanged().
  std::shared_ptr<const server::ProjectPolicy> demo_policy;
  std::shared_ptr<server::ProjectSocket> demo_socket;
  crypto::X25519Recipient recipient;
  std::shared_ptr<const core::SecretStore::Snapshot> secrets_snapshot;
  SandboxDir::Fingerprint files;
};

std::optional<SandboxBroker>& sandbox_broker() {
  static std::optional<SandboxBroker> broker;
  return broker;
}

SandboxBroker& broker_for_next_input() {
  auto& broker = sandbox_broker();
  if (!broker) {
    sandbox().reset_state();
    broker.emplace();
  }
  return *broker;
}

// After an input that changed the broker, it is built again (within that input, so that the work and its
// coverage are the input's own).
void put_back_broker() {
  auto& broker = sandbox_broker();
  if (broker && broker->unchanged()) return;
  broker.reset();
  sandbox().reset_state();
  broker.emplace();
}

// The input's lines through both endpoints' ops.
void dispatch(Input input, SandboxBroker& state) {
  server::AdminOps admin(state.broker, state.registry);
  core::LockState lock(sandbox().path() / "state" / "locked.json");
  core::RateLimiter limiter({0, 1});  // no limit: every line should reach the op handlers
  server::ProjectOps project(state.demo_state, {}, state.broker.store,
                             server::DataPlaneGate(lock, limiter, "demo"));
  const server::PeerCredentials peer{::getpid(), ::getuid(), ::getgid()};

  server::LineBuffer lines(protocol::kAdminLineLimit);
  std::size_t fed = 0;
  while (fed < input.size() && !lines.overflowed()) {
    const auto space = lines.prepare();
    if (space.empty()) break;
    const std::size_t n = std::min(space.size(), input.size() - fed);
    std::memcpy(space.data(), input.data() + fed, n);
    lines.commit(n);
    fed += n;
    while (auto line = lines.next_line()) {
      const std::string request = expand_sandbox(*line);
      Answers admin_out;
      admin.handle(request, peer, admin_out);
      if (admin_out.blocking) admin_out.blocking->run(admin_out);
      check_answers(admin_out);
      if (line->size() > protocol::kProjectLineLimit) continue;
      Answers project_out;
      project.handle(request, peer, project_out);
      if (project_out.blocking) project_out.blocking->run(project_out);
      check_answers(project_out);
    }
  }
}

}  // namespace

void request_dispatch(Input input) {
  dispatch(input, broker_for_next_input());
  put_back_broker();
}

}  // namespace remo::fuzz
