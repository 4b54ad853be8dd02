// remo-broker's configuration. Layers, each overriding the one before: built-in defaults (or the --sandbox
// layout), the TOML config file (/etc/remo-broker/config.toml when present, or --config FILE), then flags.
// With --sandbox and no --config, the system config file is not read: a sandbox is self-contained.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "broker/common/result.hpp"

namespace remo::daemon {

struct DaemonConfig {
  std::filesystem::path bootstrap_key;
  // "flag", "config", "sandbox", "credentials-directory", or "credentials-directory:<tier>" where the
  // unit names how the credential is sealed (tpm2, host, plaintext).
  std::string decryption_key_source;
  std::filesystem::path socket_dir;  // the project sockets (and the admin socket's compatibility link)
  // The admin socket's own directory (0700, the broker's uid). Never inside socket_dir: a container that
  // mounts the project socket directory must not find the admin socket in it.
  std::filesystem::path admin_socket_dir;
  std::filesystem::path state_dir;
  std::filesystem::path audit_log;
  std::optional<std::filesystem::path> sandbox;
  std::optional<std::filesystem::path> config_file;  // the file that was read, if any
  unsigned threads = 1;
  // Threads that wait for the one-shot secret ledger's durable writes; a group commit carries at most this
  // many changes. More threads make a larger thundering herd per commit and cost RSS and start-up time
  // (docs/benchmarks.md: 16 claim worker threads instead of 256).
  static constexpr unsigned kDefaultClaimWorkers = 16;
  unsigned claim_workers = kDefaultClaimWorkers;
  std::chrono::seconds idle_timeout{60};
  std::size_t max_connections = 4096;  // on the admin socket
  // On each project socket: every connection costs the broker something however well its lines are
  // rate-limited, and a project's own tools need a handful at a time.
  static constexpr std::size_t kDefaultProjectMaxConnections = 64;
  std::size_t project_max_connections = kDefaultProjectMaxConnections;
  // What unfinished request lines may hold across every connection of every socket (see BufferBudget).
  static constexpr std::size_t kDefaultLineBufferBudgetMib = 16;
  std::size_t line_buffer_budget = kDefaultLineBufferBudgetMib * 1024 * 1024;
  std::string log_level = "info";
  // The data plane's per-project token bucket (0 requests per second: no limit). Manifests can tighten it.
  std::int64_t requests_per_second = 100;
  std::int64_t burst = 200;
  // The audit log: refuse audited requests while it cannot be written (the default), or serve them anyway
  // ("serve": weaker, an op may then go unaudited). It rotates at audit_rotate_bytes (0: never), keeping
  // audit_keep_files rotated files, so the directory holds at most (keep + 1) * rotate bytes plus the
  // writer's reserve (core::AuditLog).
  bool audit_fail_closed = true;
  std::uint64_t audit_rotate_bytes = 16 * 1024 * 1024;
  unsigned audit_keep_files = 4;
  // OpenSSH allowed_signers file; when set, push-creds must be signed by one of its keys.
  std::optional<std::filesystem::path> allowed_signers;
};

// What the configuration depends on outside the command line; tests pass their own.
struct Environment {
  std::function<std::optional<std::string>(const char* name)> getenv;
  std::filesystem::path default_config_file = "/etc/remo-broker/config.toml";
  unsigned cores = 1;

  static Environment of_process();
};

enum class Action { kRun, kHelp, kVersion };

struct CommandLine {
  Action action = Action::kRun;
  DaemonConfig config;
};

// Error codes: "usage" (a bad flag or value: exit 2) and "config" (the config file, or no bootstrap key
// location: exit 1). Messages are one line.
Result<CommandLine> parse_command_line(std::span<const std::string_view> args,
                                       const Environment& environment);

std::string usage_text();

}  // namespace remo::daemon
