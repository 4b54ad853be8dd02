#include "broker/daemon/daemon.hpp"

#include <malloc.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "broker/core/audit_log.hpp"
#include "broker/core/state_file.hpp"
#include "broker/lifecycle/bootstrap_key.hpp"
#include "broker/lifecycle/broker_state.hpp"
#include "broker/lifecycle/bundle.hpp"
#include "broker/lifecycle/bundle_signature.hpp"
#include "broker/lifecycle/claim_expiry.hpp"
#include "broker/lifecycle/key_rotation.hpp"
#include "broker/lifecycle/project_registry.hpp"
#include "broker/ops/admin_ops.hpp"
#include "broker/ops/claim_plane.hpp"
#include "broker/ops/project_listeners.hpp"
#include "broker/transport/buffer_budget.hpp"
#include "broker/transport/errno_text.hpp"
#include "broker/transport/io_pool.hpp"
#include "broker/transport/listener.hpp"
#include "broker/transport/sd_notify.hpp"
#include "broker/transport/unix_socket_file.hpp"
#include "protocol/codes.hpp"

namespace remo::daemon {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr auto kShutdownGrace = 5s;
constexpr unsigned kSocketDirMode = 0755;  // project sockets (0660) must be reachable through it
constexpr unsigned kPrivateDirMode = 0700;

// Loads state_dir/secrets.enc, the last bundle pushed. Absent: no secrets yet. Unreadable or not
// decryptable: the broker serves no secrets, keeps running, and says why in status.
void load_saved_bundle(server::BrokerState& broker) {
  auto ciphertext = core::read_file_if_exists(broker.secrets_file);
  if (!ciphertext) {
    broker.bundle_error = ciphertext.error().message;
  } else if (!ciphertext->has_value()) {
    spdlog::info("no bundle yet ({} does not exist)", broker.secrets_file.string());
    return;
  } else if (auto secrets = server::open_bundle(**ciphertext, broker.identities); !secrets) {
    broker.bundle_error = broker.secrets_file.string() + ": " + secrets.error().message;
  } else {
    const std::size_t count = secrets->size();
    broker.store.replace(std::move(*secrets), std::chrono::system_clock::now());
    spdlog::info("loaded {} secrets from {}", count, broker.secrets_file.string());
    return;
  }
  spdlog::error("{}; serving no secrets until the next push-creds", *broker.bundle_error);
}

// Opens state_dir/claims.enc, the pending one-shot secrets (absent: none yet). When it cannot be read or
// decrypted, one-shot secrets are unavailable (the file is left untouched) and status says why.
void open_claim_ledger(server::BrokerState& broker, const fs::path& state_dir) {
  core::ClaimLedger::Options options;
  options.file = state_dir / std::string(core::ClaimLedger::kFileName);
  options.recipient = broker.identities.front().recipient();
  auto ledger = core::ClaimLedger::open(std::move(options), broker.identities);
  if (!ledger) {
    broker.claims_error = ledger.error().message;
    spdlog::error("{}; one-shot secrets are unavailable", *broker.claims_error);
    return;
  }
  broker.claims = std::make_unique<core::ClaimLedger>(std::move(*ledger));
  spdlog::info("{} one-shot secrets pending", broker.claims->pending_count());
}

// The admin socket's directory: only the broker's uid may traverse it. systemd creates it with the unit's
// one RuntimeDirectoryMode= (0755), so an existing directory is narrowed here, provided it is a real
// directory (not a link) owned by the broker's uid.
Result<void> make_admin_socket_dir(const fs::path& dir) {
  if (auto made = core::ensure_directory(dir, kPrivateDirMode); !made) return made;
  const auto refuse = [&](const std::string& problem) {
    return Error{std::string(protocol::code::kInternalError),
                 "admin socket directory " + dir.string() + ": " + problem};
  };
  struct stat info {};
  if (::lstat(dir.c_str(), &info) != 0) return refuse(server::errno_text());
  if (!S_ISDIR(info.st_mode)) return refuse("is not a directory");
  if (info.st_uid != ::geteuid()) {
    return refuse("belongs to uid " + std::to_string(info.st_uid) + ", not to the broker's uid " +
                  std::to_string(::geteuid()));
  }
  if ((info.st_mode & 07777) != kPrivateDirMode && ::chmod(dir.c_str(), kPrivateDirMode) != 0) {
    return refuse("chmod 0700: " + server::errno_text());
  }
  return {};
}

Result<void> make_directories(const DaemonConfig& config) {
  if (auto made = core::ensure_directory(config.socket_dir, kSocketDirMode); !made) return made;
  if (auto made = make_admin_socket_dir(config.admin_socket_dir); !made) return made;
  if (auto made = core::ensure_directory(config.state_dir, kPrivateDirMode); !made) return made;
  return core::ensure_directory(config.audit_log.parent_path(), kPrivateDirMode);
}

// Runs fn on the control-plane thread and waits for it: the registry and the admin listener are only
// ever touched there once it runs.
template <class Fn>
void on_control_plane(asio::io_context& control, Fn fn) {
  std::promise<void> done;
  asio::post(control, [&] {
    fn();
    done.set_value();
  });
  done.get_future().wait();
}

// The kill switch as saved in the state dir. An unreadable lock file starts the broker locked (fail
// closed) and says so here, in status (lock_error) and in sd_notify STATUS.
void load_lock_state(server::BrokerState& broker, const fs::path& state_dir) {
  broker.lock = std::make_unique<core::LockState>(state_dir / std::string(core::LockState::kFileName));
  if (const auto problem = broker.lock->problem()) {
    spdlog::critical(
        "{}: starting LOCKED (fail closed); every project request but ping is refused until an "
        "administrator sends unlock",
        *problem);
  } else if (broker.lock->is_locked()) {
    const auto info = broker.lock->info();
    spdlog::warn("the broker is locked (by {}{}{}): project sockets answer only ping until unlock", info.by,
                 info.reason.empty() ? "" : ": ", info.reason);
  }
}

std::string serving_status(const server::BrokerState& broker, const server::ProjectRegistry& registry) {
  if (broker.lock && broker.lock->is_locked()) {
    return "LOCKED: serving nothing to " + std::to_string(registry.projects().size()) + " projects";
  }
  return "serving " + std::to_string(broker.store.snapshot()->secrets->size()) + " secrets to " +
         std::to_string(registry.projects().size()) + " projects";
}

// Once a burst is over (requests were audited or connections ended in the last period, and none in this
// one), hands the allocator's free pages back to the kernel. glibc keeps them in its arena (see M_ARENA_MAX
// below), so without this the RSS stays at the burst's peak: after a flood of gets, or after many
// connections that held long unfinished lines have closed.
class TrimAfterBursts {
 public:
  static constexpr auto kPeriod = 1s;

  TrimAfterBursts(asio::io_context& context, const core::AuditLog& audit, const server::BufferBudget& budget)
      : timer_(context), audit_(audit), budget_(budget) {
    arm();
  }
  void cancel() { timer_.cancel(); }

 private:
  void arm() {
    timer_.expires_after(kPeriod);
    timer_.async_wait([this](const asio::error_code& error) {
      if (error) return;
      const std::uint64_t seen = audit_.recorded() + budget_.departed();
      if (seen != last_seen_) {
        busy_ = true;
        last_seen_ = seen;
      } else if (std::exchange(busy_, false)) {
        ::malloc_trim(0);
      }
      arm();
    });
  }

  asio::steady_timer timer_;
  const core::AuditLog& audit_;
  const server::BufferBudget& budget_;
  std::uint64_t last_seen_ = 0;
  bool busy_ = false;
};

// Allocator settings for a server whose load comes in bursts.
void tune_allocator() {
  // One malloc arena for every thread. glibc gives each thread that allocates its own arena (up to 8 per
  // core), and the claim workers, the data plane and the audit writer would each keep a partly used one in
  // the idle RSS after a burst (docs/benchmarks.md: one malloc arena). The threads' allocation caches
  // keep the hot path off the arena's lock.
  ::mallopt(M_ARENA_MAX, 1);
  // Blocks of 128 KiB and more (replies queued for a client that does not read, admin lines, bundles) are
  // mapped on their own and unmapped when freed. glibc would otherwise raise this threshold to the largest
  // block freed so far and take later ones from the heap, where a flood leaves holes the trim cannot return.
  ::mallopt(M_MMAP_THRESHOLD, 128 * 1024);
}

// Logs (debug) how long each start-up phase took.
class PhaseClock {
 public:
  explicit PhaseClock(std::chrono::steady_clock::time_point started) : last_(started) {}
  void done(std::string_view phase) {
    const auto now = std::chrono::steady_clock::now();
    spdlog::debug("start-up: {} took {} us", phase,
                  std::chrono::duration_cast<std::chrono::microseconds>(now - last_).count());
    last_ = now;
  }

 private:
  std::chrono::steady_clock::time_point last_;
};

// What start-up reads before it writes anything: the bootstrap key and the allowed signers.
struct Keys {
  std::vector<crypto::X25519Identity> identities;
  std::optional<crypto::AllowedSigners> allowed_signers;
};

// nullopt (logged) when the daemon cannot start.
std::optional<Keys> load_keys(const DaemonConfig& config, PhaseClock& clock) {
  auto key = server::load_bootstrap_key(config.bootstrap_key);
  if (!key) {
    spdlog::critical("cannot start: {}", key.error().message);
    return std::nullopt;
  }
  if (key->readable_by_others) {
    spdlog::warn("bootstrap key {} is readable by group or others; make it 0600",
                 config.bootstrap_key.string());
  }
  clock.done("bootstrap key");
  Keys keys;
  keys.identities = std::move(key->identities);
  if (!config.allowed_signers) return keys;
  auto loaded = server::load_allowed_signers(*config.allowed_signers);
  if (!loaded) {
    spdlog::critical("cannot start: {}", loaded.error().message);
    return std::nullopt;
  }
  for (const std::string& note : loaded->notes) {
    spdlog::warn("allowed_signers {}: {} (ignored: only ssh-ed25519 keys can sign bundles)",
                 config.allowed_signers->string(), note);
  }
  spdlog::info("signed pushes required: {} ssh-ed25519 keys in {}", loaded->signers.size(),
               config.allowed_signers->string());
  keys.allowed_signers = std::move(*loaded);
  return keys;
}

// The broker's state from its keys and the state directory: the kill switch, the rate limits, the last
// bundle, the one-shot secrets and a key rotation under way.
void open_state(const DaemonConfig& config, Keys keys, server::BrokerState& broker) {
  broker.identities = std::move(keys.identities);
  broker.recipient = broker.identities.front().recipient().encode();
  broker.decryption_key_source = config.decryption_key_source;
  broker.secrets_file = config.state_dir / "secrets.enc";
  broker.broker_uid = ::getuid();
  broker.allowed_signers = std::move(keys.allowed_signers);
  load_lock_state(broker, config.state_dir);
  broker.rate_limiter = std::make_unique<core::RateLimiter>(core::RateLimiter::Limits{
      static_cast<double>(config.requests_per_second), static_cast<double>(config.burst)});
  load_saved_bundle(broker);
  open_claim_ledger(broker, config.state_dir);
  server::resume_rotation(broker);  // after the claim ledger is opened: it keeps claims.enc on both keys
  if (broker.bootstrap_error && broker.claims) {  // serve nothing from the saved state, claims included
    broker.claims.reset();
    broker.claims_error = *broker.bootstrap_error;
  }
  if (const char* crash_at = std::getenv("REMO_TEST_CRASH_AT"); crash_at && config.sandbox) {
    server::arm_test_crash(crash_at);  // tests/integration/test_rotate.py only: never outside --sandbox
  }
}

// A socket's listener options: its name, line limit and connection cap, the shared idle timeout and budget.
server::Listener::Options listener_options(const char* name, std::size_t line_limit,
                                           std::size_t max_connections, const DaemonConfig& config,
                                           server::BufferBudget& budget) {
  server::SessionLimits limits{line_limit, config.idle_timeout};
  limits.line_budget = &budget;
  server::Listener::Options options;
  options.name = name;
  options.limits = limits;
  options.max_connections = max_connections;
  return options;
}

server::Listener::Options project_listener_options(const DaemonConfig& config, server::BufferBudget& budget) {
  return listener_options("project", protocol::kProjectLineLimit, config.project_max_connections, config,
                          budget);
}

// The admin socket's ops run on the control-plane thread.
server::Listener::Options admin_listener_options(const DaemonConfig& config, server::BufferBudget& budget,
                                                 asio::io_context& control) {
  server::Listener::Options options =
      listener_options("admin", protocol::kAdminLineLimit, config.max_connections, config, budget);
  options.handler_executor = control.get_executor();
  return options;
}

// The serving broker: the audit log, the threads, the sockets. Members are declared in the order they are
// built, so that they are destroyed in the reverse order.
class ServingBroker {
 public:
  ServingBroker(const DaemonConfig& config, server::BrokerState& broker,
                const server::SystemdNotifier& notifier)
      : config_(config),
        broker_(broker),
        notifier_(notifier),
        audit_(core::AuditLog::Options{.file = config.audit_log,
                                       .fail_closed = config.audit_fail_closed,
                                       .file_limits = {config.audit_rotate_bytes, config.audit_keep_files,
                                                       core::AuditLog::kReserveBytes}}),
        line_budget_(config.line_buffer_budget),
        pool_(config.threads),
        control_work_(asio::make_work_guard(control_)),
        trim_after_bursts_(control_, audit_, line_budget_),
        signals_(pool_.first(), SIGTERM, SIGINT),
        claim_workers_(config.claim_workers),
        claim_plane_{broker.claims.get(), claim_workers_.get_executor()},
        project_sockets_(pool_, broker.store, claim_plane_, *broker.lock, *broker.rate_limiter, audit_,
                         project_listener_options(config, line_budget_), live_connections_),
        registry_(config.socket_dir, config.state_dir / "registrations.json", project_sockets_,
                  broker.rate_limiter.get()),
        admin_path_(config.admin_socket_dir / admin_file_name()),
        admin_link_(config.socket_dir / admin_file_name()) {
    broker.audit = &audit_;
    if (broker.claims) claim_expiry_.emplace(*broker.claims, audit_, std::chrono::seconds(1));
  }

  // Binds the admin socket and builds its listener; false (logged) when the socket cannot be bound.
  bool bind_admin_socket();
  // Serves the registered projects and the admin socket, then tells systemd the broker is ready.
  void start(std::chrono::steady_clock::time_point started, PhaseClock& clock);
  // Blocks until SIGTERM or SIGINT; returns which.
  int wait_for_signal() { return stop_signal_.get_future().get(); }
  // Drains every connection (for at most kShutdownGrace), cuts what is left, stops the threads, wipes the
  // secrets and flushes the audit log.
  void shut_down();

 private:
  static std::string admin_file_name() {
    return std::string(server::kAdminSocketName) + std::string(server::kSocketSuffix);
  }
  void notify_status() {
    if (auto notified = notifier_.status(serving_status(broker_, registry_)); !notified) {
      spdlog::warn("{}", notified.error().message);
    }
  }

  const DaemonConfig& config_;
  server::BrokerState& broker_;
  const server::SystemdNotifier& notifier_;
  core::AuditLog audit_;
  std::atomic<std::size_t> live_connections_{0};
  // Before the pool: the sessions it destroys at shutdown leave the budget.
  server::BufferBudget line_budget_;
  server::IoPool pool_;
  asio::io_context control_{1};
  asio::executor_work_guard<asio::io_context::executor_type> control_work_;
  TrimAfterBursts trim_after_bursts_;
  asio::signal_set signals_;
  // After the pool: destroyed (joined) before it, so a finished claim never posts to a destroyed context.
  asio::thread_pool claim_workers_;
  const server::ClaimPlane claim_plane_;
  std::optional<server::ClaimExpiry> claim_expiry_;
  server::ProjectListeners project_sockets_;
  server::ProjectRegistry registry_;
  const fs::path admin_path_;
  // A link to the admin socket where clients that know only the socket directory look for it. Through a
  // container's mount of the socket directory the link leads nowhere: its target is outside that directory.
  const fs::path admin_link_;
  std::shared_ptr<server::AdminOps> admin_ops_;
  std::shared_ptr<server::Listener> admin_;
  std::promise<int> stop_signal_;
  std::thread control_thread_;
};

bool ServingBroker::bind_admin_socket() {
  auto admin_file = server::bind_socket_file({admin_path_, 0600, std::nullopt});
  if (!admin_file) {
    spdlog::critical("cannot start: {}", admin_file.error().message);
    return false;
  }
  if (auto linked = server::link_socket_file(admin_link_, admin_path_); !linked) {
    spdlog::warn("{}; clients must use {}", linked.error().message, admin_path_.string());
  }
  admin_ops_ = std::make_shared<server::AdminOps>(
      broker_, registry_, [this] { notify_status(); }, claim_workers_.get_executor());
  admin_ = std::make_shared<server::Listener>(pool_, std::move(*admin_file), admin_ops_, audit_,
                                              admin_listener_options(config_, line_budget_, control_),
                                              live_connections_);
  return true;
}

void ServingBroker::start(std::chrono::steady_clock::time_point started, PhaseClock& clock) {
  for (nlohmann::json& event : registry_.restore()) audit_.record(std::move(event));
  admin_->start();
  clock.done("projects");

  signals_.async_wait([this](const asio::error_code& error, int signal_number) {
    stop_signal_.set_value(error ? SIGTERM : signal_number);
  });
  pool_.start();
  control_thread_ = std::thread([this] { control_.run(); });
  if (claim_expiry_) claim_expiry_->start();
  clock.done("threads");

  const std::string status = serving_status(broker_, registry_);
  if (auto notified = notifier_.ready(status); !notified) spdlog::warn("{}", notified.error().message);
  asio::post(control_, [this] { pool_.warm_descriptor_pools(); });  // off the path to READY
  const auto startup = std::chrono::steady_clock::now() - started;
  spdlog::info(
      "remo-broker {} ready in {} ms: {} on {}, admin socket {} (recipient {}, key from {}, {} threads)",
      REMO_BROKER_VERSION, std::chrono::duration_cast<std::chrono::milliseconds>(startup).count(), status,
      config_.socket_dir.string(), admin_path_.string(), broker_.recipient, broker_.decryption_key_source,
      config_.threads);
}

void ServingBroker::shut_down() {
  // Stop accepting; connections answer what they have received, then end.
  on_control_plane(control_, [&] {
    project_sockets_.refuse_new();
    admin_->drain();
    registry_.drain_all();
  });
  const auto deadline = std::chrono::steady_clock::now() + kShutdownGrace;
  while (live_connections_.load(std::memory_order_relaxed) > 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  if (const std::size_t left = live_connections_.load(); left > 0) {
    spdlog::warn("{} connections still busy after {} s; closing them", left, kShutdownGrace.count());
  }
  on_control_plane(control_, [&] {
    admin_->close();
    server::unlink_socket_link(admin_link_, admin_path_);
    registry_.close_all();
  });
  pool_.stop();
  on_control_plane(control_, [&] { trim_after_bursts_.cancel(); });
  control_work_.reset();
  control_.stop();
  control_thread_.join();
  claim_workers_.join();  // a claim still waiting for its write finishes (its reply goes nowhere)
  if (claim_expiry_) claim_expiry_->stop();

  broker_.store.clear();
  audit_.flush();
}

}  // namespace

int run_daemon(const DaemonConfig& config) {
  const auto started = std::chrono::steady_clock::now();
  tune_allocator();
  PhaseClock clock(started);
  const server::SystemdNotifier notifier = server::SystemdNotifier::from_environment();
  auto keys = load_keys(config, clock);
  if (!keys) return 1;
  if (auto made = make_directories(config); !made) {
    spdlog::critical("cannot start: {}", made.error().message);
    return 1;
  }
  server::BrokerState broker;
  open_state(config, std::move(*keys), broker);
  clock.done("directories and bundle");

  ServingBroker server(config, broker, notifier);
  if (!server.bind_admin_socket()) return 1;
  clock.done("io, audit log, admin socket");
  server.start(started, clock);

  const int signal_number = server.wait_for_signal();
  spdlog::info("{} received: stopping", signal_number == SIGINT ? "SIGINT" : "SIGTERM");
  if (auto notified = notifier.stopping("stopping"); !notified) spdlog::warn("{}", notified.error().message);
  server.shut_down();
  spdlog::info("stopped; secrets wiped");
  return 0;
}

}  // namespace remo::daemon
