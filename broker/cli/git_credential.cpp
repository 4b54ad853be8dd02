// remo-brokerctl git-credential get|store|erase: a git credential helper backed by the project socket.
//
//   git config --global credential.helper '/usr/local/bin/remo-brokerctl git-credential'
//
// git asks with "protocol=https\nhost=github.com\n..."; the helper maps that origin to a secret and
// answers "username=...\npassword=<secret>\n". The mapping (README, "git credential helper"):
//   - an entry for exactly that host and port in the config file (git_credential_config.hpp);
//   - otherwise the conventional GIT_TOKEN_ name (git_origin.hpp), which no two hosts share, and which
//     hosts with a '-' or an IPv6 literal do not have.
// Only protocol=https is answered, and http only for an entry with allow_http. A request the helper
// cannot read exactly as git meant it (a NUL byte, a repeated field, a host that is not a plain host
// name or address) gets no answer. The path (credential.useHttpPath) never selects a secret.
// The username is git's own (from the URL) when it sent one, else the entry's, else x-access-token.
// store and erase do nothing: the broker is read-only from a devcontainer, and git must not cache the
// secret anywhere else either.
#include <sys/prctl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "broker/cli/cli_output.hpp"
#include "broker/cli/git_credential_config.hpp"
#include "broker/cli/git_request.hpp"
#include "broker/cli/io.hpp"
#include "broker/cli/project_client.hpp"
#include "protocol/ops.hpp"

namespace remo::cli {
namespace {

constexpr std::string_view kCommand = command_name::kGitCredential;
// The action git sends a helper to ask for a credential (gitcredentials(7)); store and erase are the
// others. It is git's word, fixed by git, whatever the broker's op is called.
constexpr std::string_view kGitGetAction = "get";  // lint: not a wire name
constexpr std::size_t kMaxRequestBytes = 64 * 1024;

constexpr std::string_view kUsage =
    "usage: remo-brokerctl git-credential [--config FILE] [--socket PATH] get|store|erase\n"
    "\n"
    "A git credential helper (git config credential.helper '/path/to/remo-brokerctl git-credential').\n"
    "get answers protocol=https requests with the secret mapped to git's host and port: [hosts.\"HOST\"]\n"
    "secret = NAME (username = USER, allow_http = true) in the config file, else GIT_TOKEN_<the host's\n"
    "labels upper-cased, joined by _>[_PORT] for hosts without '-'. store and erase do nothing.\n"
    "\n"
    "  --config FILE   mapping file (default $REMO_BROKER_GIT_CONFIG, else\n"
    "                  $XDG_CONFIG_HOME/remo-broker/git-credential.toml, else ~/.config/...); it must be\n"
    "                  owned by root or you and writable by nobody else\n"
    "  --socket PATH   project socket (default $REMO_BROKER_SOCKET, else /run/remo-broker/project.sock)\n";

std::string default_config_path() {
  if (const char* path = std::getenv("REMO_BROKER_GIT_CONFIG"); path != nullptr && *path != '\0') return path;
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg != nullptr && *xdg != '\0') {
    return std::string(xdg) + "/remo-broker/git-credential.toml";
  }
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : "") + "/.config/remo-broker/git-credential.toml";
}

// stdin up to the empty line that ends git's request (or EOF), at most kMaxRequestBytes.
Result<std::string> read_request_text() {
  std::string text;
  std::array<char, 4096> chunk{};
  while (!is_complete_git_request(text)) {
    const ssize_t n = ::read(STDIN_FILENO, chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return make_error("io", std::string("cannot read git's request: ") + std::strerror(errno));
    if (n == 0) break;
    text.append(chunk.data(), static_cast<std::size_t>(n));
    if (text.size() > kMaxRequestBytes) return make_error("refused", "git's request is over 64 KiB");
  }
  return text;
}

// Straight from secure memory to the pipe git reads: no stdio buffer holds the value.
Result<void> write_answer(const GitAnswer& answer, const crypto::SecureBuffer& value) {
  if (std::memchr(value.data(), '\n', value.size()) != nullptr ||
      std::memchr(value.data(), '\0', value.size()) != nullptr) {
    return make_error("usage", "secret " + answer.secret +
                                   " holds a newline or NUL byte, which git's protocol cannot carry");
  }
  const std::string head = "username=" + answer.username + "\npassword=";
  const auto bytes = [](std::string_view text) {
    return std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(text.data()),
                                         text.size());  // NOLINT
  };
  for (const std::span<const std::uint8_t> part :
       {bytes(head), std::span<const std::uint8_t>(value.span()), bytes("\n")}) {
    if (auto written = write_output("-", part, 0600); !written) return written;
  }
  return {};
}

}  // namespace

int run_git_credential(CommandArgs args) {
  static constexpr std::array<OptionSpec, 2> kSpecs{{{'\0', "config", true}, {'\0', "socket", true}}};
  ParsedArgs parsed;
  if (auto done = parse_or_exit(kCommand, args, kSpecs, kUsage, parsed)) return *done;
  if (parsed.positionals.size() != 1) return usage_failure(kCommand, "expects get, store or erase", kUsage);
  const std::string& action = parsed.positionals.front();
  auto text = read_request_text();
  if (action != kGitGetAction)
    return kExitOk;  // store, erase, and actions this helper does not know: nothing
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (!text) return report_failure(kCommand, text.error());
  auto request = parse_git_request(*text);
  if (!request) return report_failure(kCommand, request.error());
  if (git_field(*request, "host").empty()) return kExitOk;  // nothing to map: let git go on

  auto config =
      GitCredentialConfig::load(parsed.last("config").value_or(default_config_path()), !parsed.has("config"));
  if (!config) return report_failure(kCommand, config.error());
  auto answer = choose_answer(*request, *config);
  if (!answer) return report_failure(kCommand, answer.error());
  auto value = get_secret(resolve_socket(SocketKind::kProject, parsed.last("socket")), answer->secret);
  if (!value) {
    // git then tries its other helpers or prompts; say why this one had nothing.
    return report_failure(kCommand,
                          make_error(value.error().code, "no credential for " + answer->origin + " (secret " +
                                                             answer->secret + "): " + value.error().message));
  }
  if (auto written = write_answer(*answer, *value); !written)
    return report_failure(kCommand, written.error());
  return kExitOk;
}

}  // namespace remo::cli
