// remo-brokerctl git-credential get|store|erase: a git credential helper backed by the project socket.
//
//   git config --global credential.helper '/usr/local/bin/remo-brokerctl git-credential'
//
// git asks with "protocol=https\nhost=github.com\n..."; the helper maps the host to a secret name and
// answers "username=...\npassword=<secret>\n". The mapping (README, "git credential helper"):
//   - a [hosts."HOST"] table in the config file names the secret and optionally the username;
//   - otherwise the secret is GIT_TOKEN_ + the host upper-cased with every other character as '_'
//     (github.com -> GIT_TOKEN_GITHUB_COM; 127.0.0.1:8080 -> GIT_TOKEN_127_0_0_1_8080).
// The username is git's own (from the URL) when it sent one, else the config's, else x-access-token.
// store and erase do nothing: the broker is read-only from a devcontainer, and git must not cache the
// secret anywhere else either.
#include <sys/prctl.h>
#include <sys/stat.h>

#include <toml++/toml.h>

#include <array>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

#include "broker/cli/cli_output.hpp"
#include "broker/cli/io.hpp"
#include "broker/cli/project_client.hpp"
#include "broker/core/secret_set.hpp"
#include "broker/core/toml_text_guard.hpp"

namespace remo::cli {
namespace {

constexpr std::string_view kCommand = "git-credential";
constexpr std::string_view kDefaultUsername = "x-access-token";

constexpr std::string_view kUsage =
    "usage: remo-brokerctl git-credential [--config FILE] [--socket PATH] get|store|erase\n"
    "\n"
    "A git credential helper (git config credential.helper '/path/to/remo-brokerctl git-credential').\n"
    "get answers with the secret mapped to git's host: [hosts.\"HOST\"] secret = NAME, username = USER in\n"
    "the config file, else GIT_TOKEN_<HOST upper-cased, other characters as _>. store and erase do nothing.\n"
    "\n"
    "  --config FILE   mapping file (default $REMO_BROKER_GIT_CONFIG, else\n"
    "                  $XDG_CONFIG_HOME/remo-broker/git-credential.toml, else ~/.config/...)\n"
    "  --socket PATH   project socket (default $REMO_BROKER_SOCKET, else /run/remo-broker/project.sock)\n";

struct HostMapping {
  std::string secret;
  std::string username;  // empty: git's, else the default
};

std::string default_config_path() {
  if (const char* path = std::getenv("REMO_BROKER_GIT_CONFIG"); path != nullptr && *path != '\0') return path;
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg != nullptr && *xdg != '\0') {
    return std::string(xdg) + "/remo-broker/git-credential.toml";
  }
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : "") + "/.config/remo-broker/git-credential.toml";
}

std::string conventional_secret(std::string_view host) {
  std::string name = "GIT_TOKEN_";
  for (const char c : host) {
    name.push_back(std::isalnum(static_cast<unsigned char>(c)) != 0
                       ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
                       : '_');
  }
  return name;
}

// The mapping for host from the config file: an exact entry ("host:port" or "host"), else the entry of
// the host without its port, else the convention. A missing file means the convention; a broken one is
// an error naming the file and the key.
Result<HostMapping> mapping_for(const std::string& config_path, const std::string& host,
                                bool explicit_config) {
  HostMapping mapping{conventional_secret(host), ""};
  struct stat st {};
  if (!explicit_config && ::stat(config_path.c_str(), &st) != 0 && errno == ENOENT) return mapping;
  auto text = read_bytes(config_path);
  if (!text) return std::move(text).error();
  const std::string_view toml_text(reinterpret_cast<const char*>(text->span().data()),  // NOLINT: bytes
                                   text->span().size());
  if (const auto unsafe = core::find_unsafe_toml_text(toml_text)) {  // toml++ 3.3 has UB on some such bytes
    return make_error("config", config_path + ": not accepted TOML (byte offset " +
                                    std::to_string(unsafe->offset) + "): " + std::string(unsafe->why));
  }
  toml::table root;
  try {
    root = toml::parse(toml_text, config_path);
  } catch (const toml::parse_error& error) {
    return make_error("config", config_path + ": " + std::string(error.description()));
  }
  const toml::table* hosts = root["hosts"].as_table();
  if (hosts == nullptr) return mapping;
  const std::string without_port =
      host.substr(0, host.rfind(':') == std::string::npos ? host.size() : host.rfind(':'));
  const toml::table* entry = (*hosts)[host].as_table();
  if (entry == nullptr) entry = (*hosts)[without_port].as_table();
  if (entry == nullptr) {
    mapping.secret = conventional_secret(host);
    return mapping;
  }
  const auto secret = (*entry)["secret"].value<std::string>();
  if (!secret || !core::is_valid_secret_name(*secret)) {
    return make_error("config", config_path + ": hosts entry for " + host +
                                    ": 'secret' must be a secret name (^[A-Za-z0-9_]{1,128}$)");
  }
  mapping.secret = *secret;
  mapping.username = (*entry)["username"].value<std::string>().value_or("");
  return mapping;
}

// git's request: key=value lines up to an empty line or EOF.
std::map<std::string, std::string> read_git_request() {
  std::map<std::string, std::string> fields;
  std::array<char, 4096> buffer{};
  while (std::fgets(buffer.data(), static_cast<int>(buffer.size()), stdin) != nullptr) {
    std::string line(buffer.data());
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    if (line.empty()) break;
    const auto eq = line.find('=');
    if (eq != std::string::npos) fields[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return fields;
}

}  // namespace

int run_git_credential(CommandArgs args) {
  static constexpr std::array<OptionSpec, 2> kSpecs{{{'\0', "config", true}, {'\0', "socket", true}}};
  ParsedArgs parsed;
  if (auto done = parse_or_exit(kCommand, args, kSpecs, kUsage, parsed)) return *done;
  if (parsed.positionals.size() != 1) return usage_failure(kCommand, "expects get, store or erase", kUsage);
  const std::string& action = parsed.positionals.front();
  const auto request = read_git_request();
  if (action == "store" || action == "erase") return kExitOk;
  if (action != "get") return kExitOk;  // git's protocol: ignore actions this helper does not know
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

  const auto host = request.find("host");
  if (host == request.end() || host->second.empty()) return kExitOk;  // nothing to map: let git go on
  const bool explicit_config = parsed.has("config");
  auto mapping =
      mapping_for(parsed.last("config").value_or(default_config_path()), host->second, explicit_config);
  if (!mapping) return report_failure(kCommand, mapping.error());
  auto value = get_secret(resolve_socket(SocketKind::kProject, parsed.last("socket")), mapping->secret);
  if (!value) {
    // git then tries its other helpers or prompts; say why this one had nothing.
    return report_failure(
        kCommand, make_error(value.error().code, "no credential for " + host->second + " (secret " +
                                                     mapping->secret + "): " + value.error().message));
  }
  if (std::memchr(value->data(), '\n', value->size()) != nullptr ||
      std::memchr(value->data(), '\0', value->size()) != nullptr) {
    return report_failure(
        kCommand, make_error("usage", "secret " + mapping->secret +
                                          " holds a newline or NUL byte, which git's protocol cannot carry"));
  }
  const auto given_user = request.find("username");
  const std::string username = given_user != request.end() && !given_user->second.empty() ? given_user->second
                               : !mapping->username.empty()                               ? mapping->username
                                                            : std::string(kDefaultUsername);
  // Straight from secure memory to the pipe git reads: no stdio buffer holds the value.
  const std::string head = "username=" + username + "\npassword=";
  const auto bytes = [](std::string_view text) {
    return std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(text.data()),
                                         text.size());  // NOLINT
  };
  for (const std::span<const std::uint8_t> part :
       {bytes(head), std::span<const std::uint8_t>(value->span()), bytes("\n")}) {
    if (auto written = write_output("-", part, 0600); !written)
      return report_failure(kCommand, written.error());
  }
  return kExitOk;
}

}  // namespace remo::cli
