#include "broker/cli/git_credential_config.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

#include "broker/core/secret_set.hpp"
#include "broker/core/toml_text_guard.hpp"
#include "broker/core/unique_fd.hpp"

namespace remo::cli {
namespace {

constexpr std::size_t kMaxConfigBytes = 64 * 1024;
constexpr std::size_t kMaxUsernameLength = 256;

Error config_error(const std::string& path, const std::string& problem) {
  return make_error("config", path + ": " + problem);
}

// The file's text, or nothing when it does not exist and missing_ok. Refuses anything but a regular file
// that only its owner (root or this user) may write; O_NONBLOCK keeps a FIFO from hanging the open.
Result<std::optional<std::string>> read_trusted_file(const std::string& path, bool missing_ok) {
  const core::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (!fd) {
    if (errno == ENOENT && missing_ok) return std::optional<std::string>{};
    return config_error(path, std::string("cannot open: ") + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    return config_error(path, std::string("cannot stat: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return config_error(path, "not a regular file");
  if (st.st_uid != 0 && st.st_uid != ::getuid()) {
    return config_error(path, "owned by uid " + std::to_string(st.st_uid) + ", not by root or this user");
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return config_error(path, "writable by its group or by others (chmod go-w)");
  }
  if (st.st_size > static_cast<off_t>(kMaxConfigBytes)) return config_error(path, "larger than 64 KiB");
  std::string text(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t filled = 0;
  while (filled < text.size()) {
    const ssize_t n = ::read(fd.get(), text.data() + filled, text.size() - filled);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return config_error(path, std::string("cannot read: ") + std::strerror(errno));
    if (n == 0) break;
    filled += static_cast<std::size_t>(n);
  }
  text.resize(filled);
  return std::optional<std::string>(std::move(text));
}

Result<toml::table> parse_toml(const std::string& path, std::string_view text) {
  if (const auto unsafe = core::find_unsafe_toml_text(text)) {  // toml++ 3.3 has UB on some such bytes
    return config_error(path, "not accepted TOML (byte offset " + std::to_string(unsafe->offset) +
                                  "): " + std::string(unsafe->why));
  }
  try {
    return toml::parse(text, path);
  } catch (const toml::parse_error& error) {
    return config_error(path, std::string(error.description()));
  }
}

bool starts_with_git_token_prefix(std::string_view name) {
  if (name.size() < kGitTokenPrefix.size()) return false;
  return std::equal(kGitTokenPrefix.begin(), kGitTokenPrefix.end(), name.begin(), [](char a, char b) {
    return a == (b >= 'a' && b <= 'z' ? static_cast<char>(b - 32) : b);
  });
}

// One [hosts."KEY"] table: known fields only, each of its type; a GIT_TOKEN_ secret only for its own host.
Result<GitHostEntry> parse_entry(const std::string& where, const GitAuthority& authority,
                                 const toml::node& node) {
  const toml::table* table = node.as_table();
  if (table == nullptr) return make_error("config", where + ": must be a table (secret = \"NAME\")");
  for (const auto& [field, value] : *table) {
    if (field != "secret" && field != "username" && field != "allow_http") {
      return make_error("config", where + ": unknown field '" + printable_excerpt(field.str()) +
                                      "' (secret, username, allow_http)");
    }
  }
  GitHostEntry entry;
  const auto secret = (*table)["secret"].value<std::string>();
  if (!secret || !core::is_valid_secret_name(*secret)) {
    return make_error("config", where + ": 'secret' must be a secret name (^[A-Za-z0-9_]{1,128}$)");
  }
  if (starts_with_git_token_prefix(*secret) && *secret != conventional_secret(authority)) {
    return make_error("config", where + ": " + *secret +
                                    " belongs by its name to another host; give this host a secret "
                                    "whose name does not start with GIT_TOKEN_");
  }
  entry.secret = *secret;
  if (const toml::node* username = table->get("username")) {
    const auto text = username->value<std::string>();
    if (!text || text->empty() || !is_safe_git_username(*text)) {
      return make_error("config",
                        where + ": 'username' must be a non-empty string without control characters");
    }
    entry.username = *text;
  }
  if (const toml::node* allow_http = table->get("allow_http")) {
    if (!allow_http->is_boolean())
      return make_error("config", where + ": 'allow_http' must be true or false");
    entry.allow_http = allow_http->as_boolean()->get();
  }
  return entry;
}

}  // namespace

std::string printable_excerpt(std::string_view text) {
  std::string out;
  for (const char c : text.substr(0, 64)) {
    out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c);
  }
  return out;
}

bool is_safe_git_username(std::string_view text) {
  return text.size() <= kMaxUsernameLength && std::none_of(text.begin(), text.end(), [](char c) {
           return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
         });
}

Result<GitCredentialConfig> GitCredentialConfig::load(const std::string& path, bool missing_ok) {
  auto text = read_trusted_file(path, missing_ok);
  if (!text) return std::move(text).error();
  GitCredentialConfig config;
  if (!*text) return config;
  auto root = parse_toml(path, **text);
  if (!root) return std::move(root).error();
  for (const auto& [key, value] : *root) {
    if (key != "hosts")
      return config_error(path, "unknown table or key '" + printable_excerpt(key.str()) + "' (hosts)");
  }
  const toml::node* hosts_node = root->get("hosts");
  if (hosts_node == nullptr) return config;
  const toml::table* hosts = hosts_node->as_table();
  if (hosts == nullptr) return config_error(path, "'hosts' must be a table of [hosts.\"HOST\"] tables");
  for (const auto& [key, node] : *hosts) {
    const std::string where = path + ": [hosts.\"" + printable_excerpt(key.str()) + "\"]";
    auto authority = parse_git_authority(key.str(), default_port_of("https"));
    if (!authority) return make_error("config", where + ": " + authority.error().message);
    auto entry = parse_entry(where, *authority, node);
    if (!entry) return std::move(entry).error();
    if (!config.entries_.emplace(authority->text(), std::move(*entry)).second) {
      return make_error("config", where + ": another key names the same host (" + authority->text() + ")");
    }
  }
  return config;
}

const GitHostEntry* GitCredentialConfig::find(const GitAuthority& authority) const {
  const auto found = entries_.find(authority.text());
  return found == entries_.end() ? nullptr : &found->second;
}

}  // namespace remo::cli
