#include "broker/daemon/config.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdlib>
#include <limits>
#include <thread>
#include <utility>

#include "broker/core/state_file.hpp"
#include "broker/core/toml_text_guard.hpp"

namespace remo::daemon {
namespace {

namespace fs = std::filesystem;

// One layer of settings: what the config file or the flags said, each value optional.
struct Settings {
  std::optional<fs::path> config;  // flags only
  std::optional<fs::path> sandbox;
  std::optional<fs::path> bootstrap_key;
  std::optional<fs::path> socket_dir;
  std::optional<fs::path> admin_socket_dir;
  std::optional<fs::path> state_dir;
  std::optional<fs::path> audit_log;
  std::optional<std::int64_t> threads;
  std::optional<std::int64_t> claim_workers;
  std::optional<std::int64_t> idle_timeout_seconds;
  std::optional<std::int64_t> max_connections;
  std::optional<std::int64_t> project_max_connections;
  std::optional<std::int64_t> line_buffer_budget_mib;
  std::optional<std::string> log_level;
  std::optional<std::int64_t> requests_per_second;
  std::optional<std::int64_t> burst;
  std::optional<fs::path> allowed_signers;
  std::optional<std::string> audit_failure;
  std::optional<std::int64_t> audit_rotate_bytes;
  std::optional<std::int64_t> audit_keep_files;
};

struct Range {
  std::int64_t min;
  std::int64_t max;
};
constexpr Range kThreads{1, 1024};
constexpr Range kClaimWorkers{1, 1024};
constexpr Range kIdleTimeoutSeconds{1, 86400};
constexpr Range kMaxConnections{1, 1'000'000};
// At least two admin lines (1 MiB each), so a push never has to close another admin connection.
constexpr Range kLineBufferBudgetMib{2, 1'048'576};
constexpr Range kRequestsPerSecond{0, 1'000'000};  // 0: no limit
constexpr Range kBurst{1, 1'000'000};
constexpr Range kAuditRotateBytes{0, std::int64_t{1} << 40};  // 0: never rotate
constexpr std::int64_t kAuditRotateBytesMin = 4096;           // below it, only 0 is accepted
constexpr Range kAuditKeepFiles{1, 1000};
constexpr std::array<std::string_view, 2> kAuditFailures = {"refuse", "serve"};
constexpr std::array<std::string_view, 4> kLogLevels = {"debug", "info", "warn", "error"};
// How the bootstrap-key credential is protected at rest: sealed to the TPM2 (and the host key), sealed to
// the host key (/var/lib/systemd/credential.secret), or a plain root-only file (explicit opt-in).
constexpr std::array<std::string_view, 3> kCredentialTiers = {"tpm2", "host", "plaintext"};

Error usage_error(std::string message) { return Error{"usage", std::move(message)}; }
Error config_error(std::string message) { return Error{"config", std::move(message)}; }

std::string range_text(const Range& range) {
  return std::to_string(range.min) + ".." + std::to_string(range.max);
}

Result<std::int64_t> parse_number(std::string_view flag, std::string_view text, const Range& range) {
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < range.min || value > range.max) {
    return usage_error(std::string(flag) + " takes a whole number in " + range_text(range));
  }
  return value;
}

Result<std::string> parse_audit_failure(std::string_view where, std::string_view text) {
  if (std::find(kAuditFailures.begin(), kAuditFailures.end(), text) == kAuditFailures.end()) {
    return usage_error(std::string(where) + " must be refuse or serve");
  }
  return std::string(text);
}

Result<std::string> parse_log_level(std::string_view where, std::string_view text) {
  if (std::find(kLogLevels.begin(), kLogLevels.end(), text) == kLogLevels.end()) {
    return usage_error(std::string(where) + " must be one of debug, info, warn, error");
  }
  return std::string(text);
}

// --- flags -----------------------------------------------------------------------------------------------

using PathSetting = std::optional<fs::path> Settings::*;
constexpr std::array<std::pair<std::string_view, PathSetting>, 8> kPathFlags = {{
    {"--config", &Settings::config},
    {"--sandbox", &Settings::sandbox},
    {"--bootstrap-key", &Settings::bootstrap_key},
    {"--socket-dir", &Settings::socket_dir},
    {"--admin-socket-dir", &Settings::admin_socket_dir},
    {"--state-dir", &Settings::state_dir},
    {"--audit-log", &Settings::audit_log},
    {"--allowed-signers", &Settings::allowed_signers},
}};

using NumberSetting = std::optional<std::int64_t> Settings::*;
struct NumberFlag {
  std::string_view flag;
  NumberSetting setting;
  Range range;
};
constexpr std::array<NumberFlag, 10> kNumberFlags = {{
    {"--threads", &Settings::threads, kThreads},
    {"--claim-workers", &Settings::claim_workers, kClaimWorkers},
    {"--idle-timeout", &Settings::idle_timeout_seconds, kIdleTimeoutSeconds},
    {"--max-connections", &Settings::max_connections, kMaxConnections},
    {"--project-max-connections", &Settings::project_max_connections, kMaxConnections},
    {"--line-buffer-budget", &Settings::line_buffer_budget_mib, kLineBufferBudgetMib},
    {"--requests-per-second", &Settings::requests_per_second, kRequestsPerSecond},
    {"--burst", &Settings::burst, kBurst},
    {"--audit-rotate-bytes", &Settings::audit_rotate_bytes, kAuditRotateBytes},
    {"--audit-keep-files", &Settings::audit_keep_files, kAuditKeepFiles},
}};

// Applies one "--flag value" to settings.
Result<void> apply_flag(std::string_view flag, std::string_view value, Settings& settings) {
  for (const auto& [name, setting] : kPathFlags) {
    if (flag != name) continue;
    if (value.empty()) return usage_error(std::string(flag) + " needs a non-empty path");
    settings.*setting = fs::path(value);
    return {};
  }
  for (const auto& number : kNumberFlags) {
    if (flag != number.flag) continue;
    auto parsed = parse_number(flag, value, number.range);
    if (!parsed) return std::move(parsed).error();
    settings.*number.setting = *parsed;
    return {};
  }
  if (flag == "--log-level") {
    auto level = parse_log_level(flag, value);
    if (!level) return std::move(level).error();
    settings.log_level = std::move(*level);
    return {};
  }
  if (flag == "--audit-failure") {
    auto failure = parse_audit_failure(flag, value);
    if (!failure) return std::move(failure).error();
    settings.audit_failure = std::move(*failure);
    return {};
  }
  return usage_error("unknown option '" + std::string(flag) + "' (see --help)");
}

bool takes_value(std::string_view flag) {
  return flag == "--log-level" || flag == "--audit-failure" ||
         std::any_of(kPathFlags.begin(), kPathFlags.end(),
                     [&](const auto& entry) { return entry.first == flag; }) ||
         std::any_of(kNumberFlags.begin(), kNumberFlags.end(),
                     [&](const auto& entry) { return entry.flag == flag; });
}

// --- the config file -------------------------------------------------------------------------------------

constexpr std::array<std::pair<std::string_view, PathSetting>, 7> kPathKeys = {{
    {"sandbox", &Settings::sandbox},
    {"bootstrap_key", &Settings::bootstrap_key},
    {"socket_dir", &Settings::socket_dir},
    {"admin_socket_dir", &Settings::admin_socket_dir},
    {"state_dir", &Settings::state_dir},
    {"audit_log", &Settings::audit_log},
    {"allowed_signers", &Settings::allowed_signers},
}};

struct NumberKey {
  std::string_view key;
  NumberSetting setting;
  Range range;
};
constexpr std::array<NumberKey, 10> kNumberKeys = {{
    {"threads", &Settings::threads, kThreads},
    {"claim_workers", &Settings::claim_workers, kClaimWorkers},
    {"idle_timeout_seconds", &Settings::idle_timeout_seconds, kIdleTimeoutSeconds},
    {"max_connections", &Settings::max_connections, kMaxConnections},
    {"project_max_connections", &Settings::project_max_connections, kMaxConnections},
    {"line_buffer_budget_mib", &Settings::line_buffer_budget_mib, kLineBufferBudgetMib},
    {"requests_per_second", &Settings::requests_per_second, kRequestsPerSecond},
    {"burst", &Settings::burst, kBurst},
    {"audit_rotate_bytes", &Settings::audit_rotate_bytes, kAuditRotateBytes},
    {"audit_keep_files", &Settings::audit_keep_files, kAuditKeepFiles},
}};

// The config file as a TOML table; where ("config FILE") begins every error message.
Result<toml::table> parse_config_file(const fs::path& file, const std::string& where) {
  auto bytes = core::read_file_if_exists(file);
  if (!bytes || !bytes->has_value()) {
    return config_error(where + ": cannot read it" +
                        (bytes ? std::string() : " (" + bytes.error().message + ")"));
  }
  const std::string document((*bytes)->begin(), (*bytes)->end());
  if (const auto unsafe = core::find_unsafe_toml_text(document)) {  // toml++ 3.3 has UB on some such bytes
    return config_error(where + ": not accepted TOML (byte offset " + std::to_string(unsafe->offset) +
                        "): " + std::string(unsafe->why));
  }
  try {
    return toml::parse(document, file.string());
  } catch (const toml::parse_error& error) {
    const auto& begin = error.source().begin;
    return config_error(where + ": not valid TOML (line " + std::to_string(begin.line) + ", column " +
                        std::to_string(begin.column) + "): " + std::string(error.description()));
  }
}

// Applies one top-level key of the config file to settings.
Result<void> apply_config_key(const std::string& where, std::string_view name, const toml::node& node,
                              Settings& settings) {
  for (const auto& [key, setting] : kPathKeys) {
    if (name != key) continue;
    const auto* text = node.as_string();
    if (text == nullptr || text->get().empty()) {
      return config_error(where + ": " + std::string(name) + " must be a non-empty string");
    }
    settings.*setting = fs::path(text->get());
    return {};
  }
  for (const auto& number : kNumberKeys) {
    if (name != number.key) continue;
    const auto* value = node.as_integer();
    if (value == nullptr || value->get() < number.range.min || value->get() > number.range.max) {
      return config_error(where + ": " + std::string(name) + " must be an integer in " +
                          range_text(number.range));
    }
    settings.*number.setting = value->get();
    return {};
  }
  const auto* text = node.as_string();
  const std::string_view value = text == nullptr ? std::string_view() : std::string_view(text->get());
  if (name == "audit_failure") {
    auto failure = parse_audit_failure(where + ": audit_failure", value);
    if (!failure) return config_error(std::move(failure).error().message);
    settings.audit_failure = std::move(*failure);
    return {};
  }
  if (name == "log_level") {
    auto level = parse_log_level(where + ": log_level", value);
    if (!level) return config_error(std::move(level).error().message);
    settings.log_level = std::move(*level);
    return {};
  }
  return config_error(where + ": unknown key '" + std::string(name) + "'");
}

Result<void> read_config_file(const fs::path& file, Settings& settings) {
  const std::string where = "config " + file.string();
  auto root = parse_config_file(file, where);
  if (!root) return std::move(root).error();
  for (const auto& [key, node] : *root) {
    if (auto applied = apply_config_key(where, key.str(), node, settings); !applied) return applied;
  }
  return {};
}

// --- resolution ------------------------------------------------------------------------------------------

template <class T>
std::optional<T> first_of(const std::optional<T>& flag, const std::optional<T>& file) {
  return flag ? flag : file;
}

// systemd decrypts the credential before the daemon starts, so only the unit knows how the key was sealed:
// the drop-in that loads it (written by systemd/remo-broker-seal-key) says so in REMO_BROKER_CREDENTIAL_TIER,
// and status reports it. A value we do not know is refused rather than shown as something it is not.
Result<std::string> credential_source(const Environment& environment) {
  const auto tier = environment.getenv("REMO_BROKER_CREDENTIAL_TIER");
  if (!tier || tier->empty()) return std::string("credentials-directory");
  if (std::find(kCredentialTiers.begin(), kCredentialTiers.end(), *tier) == kCredentialTiers.end()) {
    return config_error(
        "REMO_BROKER_CREDENTIAL_TIER must be one of tpm2, host, plaintext (the unit's "
        "credential drop-in sets it)");
  }
  return "credentials-directory:" + *tier;
}

fs::path absolute_path(const fs::path& path) {
  std::error_code ignored;
  const fs::path result = fs::absolute(path, ignored);
  return (result.empty() ? path : result).lexically_normal();
}

// Whether one directory is the other or lies inside it (after resolving the symlinks that exist).
fs::path resolved(const fs::path& path) {
  std::error_code error;
  fs::path result = fs::weakly_canonical(path, error);
  if (!error && !result.empty()) return result;
  result = path.lexically_normal();
  return result.has_filename() ? result : result.parent_path();  // "a/b/" names "a/b"
}

bool nested(const fs::path& inner, const fs::path& outer) {
  const fs::path resolved_inner = resolved(inner);
  const fs::path resolved_outer = resolved(outer);
  const auto [end, rest] = std::mismatch(resolved_outer.begin(), resolved_outer.end(), resolved_inner.begin(),
                                         resolved_inner.end());
  return end == resolved_outer.end();
}

// A devcontainer mounts a project socket, and sometimes by mistake the whole project socket directory; as
// root in a container without a user namespace it would pass the admin socket's uid check. So the admin
// socket is never in that directory (nor the project sockets in the admin socket's private one).
Result<void> check_admin_socket_dir(const fs::path& admin_dir, const fs::path& socket_dir) {
  if (nested(admin_dir, socket_dir) || nested(socket_dir, admin_dir)) {
    return config_error("admin_socket_dir " + admin_dir.string() + " and socket_dir " + socket_dir.string() +
                        " must be separate directories, neither inside the other: a container that "
                        "mounts the project socket directory must not reach the admin socket");
  }
  return {};
}

// The audit log's failure mode and rotation. config holds the defaults.
Result<void> resolve_audit(const Settings& flags, const Settings& file, DaemonConfig& config) {
  config.audit_fail_closed = first_of(flags.audit_failure, file.audit_failure).value_or("refuse") == "refuse";
  const auto rotate = first_of(flags.audit_rotate_bytes, file.audit_rotate_bytes);
  if (rotate && *rotate > 0 && *rotate < kAuditRotateBytesMin) {
    return usage_error("audit_rotate_bytes must be 0 (never rotate) or at least " +
                       std::to_string(kAuditRotateBytesMin));
  }
  if (rotate) config.audit_rotate_bytes = static_cast<std::uint64_t>(*rotate);
  config.audit_keep_files = static_cast<unsigned>(
      first_of(flags.audit_keep_files, file.audit_keep_files).value_or(config.audit_keep_files));
  return {};
}

// Where the bootstrap key is read from, and what status calls that source: the flag, the config file, the
// sandbox, or the credential systemd loaded. config.sandbox is already resolved.
Result<void> resolve_bootstrap_key(const Settings& flags, const Settings& file,
                                   const Environment& environment, DaemonConfig& config) {
  if (flags.bootstrap_key) {
    config.bootstrap_key = *flags.bootstrap_key;
    config.decryption_key_source = "flag";
  } else if (file.bootstrap_key) {
    config.bootstrap_key = *file.bootstrap_key;
    config.decryption_key_source = "config";
  } else if (config.sandbox) {
    config.bootstrap_key = *config.sandbox / "credentials" / "bootstrap-key";
    config.decryption_key_source = "sandbox";
  } else if (const auto credentials = environment.getenv("CREDENTIALS_DIRECTORY");
             credentials && !credentials->empty()) {
    config.bootstrap_key = fs::path(*credentials) / "bootstrap-key";
    auto source = credential_source(environment);
    if (!source) return std::move(source).error();
    config.decryption_key_source = std::move(*source);
  } else {
    return config_error(
        "no bootstrap key: $CREDENTIALS_DIRECTORY is not set (run under systemd with "
        "LoadCredential=bootstrap-key, "
        "or pass --bootstrap-key FILE or --sandbox DIR)");
  }
  return {};
}

Result<DaemonConfig> resolve(const Settings& flags, const Settings& file, const Environment& environment) {
  DaemonConfig config;
  config.sandbox = first_of(flags.sandbox, file.sandbox);
  if (config.sandbox) config.sandbox = absolute_path(*config.sandbox);
  const auto layout = [&](const fs::path& in_sandbox, const fs::path& system_default) {
    return config.sandbox ? *config.sandbox / in_sandbox : system_default;
  };

  if (auto key = resolve_bootstrap_key(flags, file, environment, config); !key) return std::move(key).error();
  config.bootstrap_key = absolute_path(config.bootstrap_key);
  config.socket_dir =
      absolute_path(first_of(flags.socket_dir, file.socket_dir).value_or(layout("run", "/run/remo-broker")));
  config.admin_socket_dir = absolute_path(first_of(flags.admin_socket_dir, file.admin_socket_dir)
                                              .value_or(layout("admin", "/run/remo-broker-admin")));
  if (auto separate = check_admin_socket_dir(config.admin_socket_dir, config.socket_dir); !separate) {
    return std::move(separate).error();
  }
  config.state_dir = absolute_path(
      first_of(flags.state_dir, file.state_dir).value_or(layout("state", "/var/lib/remo-broker")));
  config.audit_log = absolute_path(first_of(flags.audit_log, file.audit_log)
                                       .value_or(layout("log/audit.log", "/var/log/remo-broker/audit.log")));

  config.threads = static_cast<unsigned>(
      first_of(flags.threads, file.threads).value_or(std::max<std::int64_t>(1, environment.cores)));
  config.claim_workers = static_cast<unsigned>(
      first_of(flags.claim_workers, file.claim_workers).value_or(DaemonConfig::kDefaultClaimWorkers));
  config.idle_timeout =
      std::chrono::seconds(first_of(flags.idle_timeout_seconds, file.idle_timeout_seconds).value_or(60));
  config.max_connections =
      static_cast<std::size_t>(first_of(flags.max_connections, file.max_connections).value_or(4096));
  config.project_max_connections =
      static_cast<std::size_t>(first_of(flags.project_max_connections, file.project_max_connections)
                                   .value_or(DaemonConfig::kDefaultProjectMaxConnections));
  config.line_buffer_budget =
      static_cast<std::size_t>(first_of(flags.line_buffer_budget_mib, file.line_buffer_budget_mib)
                                   .value_or(DaemonConfig::kDefaultLineBufferBudgetMib)) *
      1024 * 1024;
  config.log_level = first_of(flags.log_level, file.log_level).value_or("info");
  config.requests_per_second = first_of(flags.requests_per_second, file.requests_per_second).value_or(100);
  config.burst = first_of(flags.burst, file.burst).value_or(200);
  config.allowed_signers = first_of(flags.allowed_signers, file.allowed_signers);
  if (config.allowed_signers) config.allowed_signers = absolute_path(*config.allowed_signers);
  if (auto audit = resolve_audit(flags, file, config); !audit) return std::move(audit).error();
  return config;
}

}  // namespace

Environment Environment::of_process() {
  Environment environment;
  environment.getenv = [](const char* name) -> std::optional<std::string> {
    const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read once at start-up
    return value == nullptr ? std::nullopt : std::optional<std::string>(value);
  };
  environment.cores = std::max(1U, std::thread::hardware_concurrency());
  return environment;
}

Result<CommandLine> parse_command_line(std::span<const std::string_view> args,
                                       const Environment& environment) {
  Settings flags;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") return CommandLine{Action::kHelp, {}};
    if (arg == "--version" || arg == "-V") return CommandLine{Action::kVersion, {}};
    if (!arg.starts_with("--"))
      return usage_error("unexpected argument '" + std::string(arg) + "' (see --help)");
    std::string_view value;
    if (const auto equals = arg.find('='); equals != std::string_view::npos) {
      value = arg.substr(equals + 1);
      arg = arg.substr(0, equals);
    } else if (takes_value(arg)) {
      if (i + 1 == args.size()) return usage_error(std::string(arg) + " needs a value");
      value = args[++i];
    }
    if (auto applied = apply_flag(arg, value, flags); !applied) return std::move(applied).error();
  }

  Settings file;
  std::optional<fs::path> config_file = flags.config;
  if (config_file) {
    std::error_code error;
    if (!fs::is_regular_file(*config_file, error)) {
      return config_error("config " + config_file->string() + ": no such file");
    }
  } else if (!flags.sandbox) {
    std::error_code error;
    if (fs::exists(environment.default_config_file, error)) config_file = environment.default_config_file;
  }
  if (config_file) {
    if (auto read = read_config_file(*config_file, file); !read) return std::move(read).error();
  }

  auto config = resolve(flags, file, environment);
  if (!config) return std::move(config).error();
  config->config_file = config_file;
  return CommandLine{Action::kRun, std::move(*config)};
}

std::string usage_text() {
  return R"(usage: remo-broker [OPTIONS]

The remo-broker daemon: decrypts pushed credential bundles in memory and serves them over Unix sockets.
Runs in the foreground (systemd Type=notify). Flags override the config file.

  --config FILE            TOML config file (default /etc/remo-broker/config.toml, read when present
                           and not in sandbox mode)
  --sandbox DIR            keep everything under DIR: DIR/credentials/bootstrap-key, DIR/run/,
                           DIR/admin/, DIR/state/, DIR/log/audit.log
  --bootstrap-key FILE     age identity file (default $CREDENTIALS_DIRECTORY/bootstrap-key)
  --socket-dir DIR         <project>.sock, and admin.sock: a link to the admin socket for older
                           clients (default /run/remo-broker)
  --admin-socket-dir DIR   admin.sock, in a 0700 directory of its own, never inside --socket-dir
                           (default /run/remo-broker-admin)
  --state-dir DIR          secrets.enc and registrations.json (default /var/lib/remo-broker)
  --audit-log FILE         JSON-lines audit log (default /var/log/remo-broker/audit.log)
  --threads N              data-plane threads (default: one per core)
  --claim-workers N        threads that wait for one-shot secret writes (default 16): one group commit
                           carries at most N claims, so raise it on a disk with slow fsyncs
  --idle-timeout SECONDS   close connections idle this long (default 60)
  --max-connections N      concurrent connections on the admin socket (default 4096)
  --project-max-connections N
                           concurrent connections per project socket (default 64); one more is told
                           rate_limited and closed, and that is audited (connection.refused)
  --line-buffer-budget MIB memory that unfinished request lines may hold, across every connection
                           (default 16); past it the connections holding the most are closed
  --log-level LEVEL        debug, info, warn or error (default info)
  --requests-per-second N  per-project rate limit on every line but ping (get, info, claims, malformed
                           and unknown lines; ping has its own bucket of 20/s, burst 40): a token
                           bucket refilled at N per second (default 100; 0 disables it). A manifest's
                           [limits] table can only tighten it. Excess gets rate_limited.
  --burst N                the bucket's size: requests a project may make at once (default 200)
  --audit-failure MODE     refuse (default): while the audit log cannot be written (disk full, I/O
                           error, writer backlog) every audited request is refused with internal_error;
                           serve: answer anyway (weaker: a request may then go unaudited)
  --audit-rotate-bytes N   rotate the audit log when it reaches N bytes (default 16777216; 0 never,
                           otherwise at least 4096): audit.log -> audit.log.1 -> ...
  --audit-keep-files N     rotated audit files kept (default 4): the log directory then holds at most
                           (N + 1) * rotate bytes, plus 1 MiB the writer keeps allocated
  --allowed-signers FILE   OpenSSH allowed_signers file; when set, push-creds must carry a signature
                           made with `ssh-keygen -Y sign -n remo-broker` by an ssh-ed25519 key listed
                           there, checked before decryption (without it a signature is ignored)
  --version                print the version and exit
  --help                   print this help and exit

Config file keys: sandbox, bootstrap_key, socket_dir, admin_socket_dir, state_dir, audit_log, threads,
claim_workers, idle_timeout_seconds, max_connections, project_max_connections, line_buffer_budget_mib,
log_level, requests_per_second, burst, allowed_signers, audit_failure, audit_rotate_bytes, audit_keep_files.

Admin ops lock and unlock (the kill switch) persist in the state dir: a locked broker stays locked
across restarts and answers every project request but ping with "locked".
)";
}

}  // namespace remo::daemon
