#include "broker/core/manifest.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <set>
#include <system_error>
#include <utility>

#include "broker/core/secret_set.hpp"
#include "broker/core/toml_text_guard.hpp"
#include "broker/core/unique_fd.hpp"
#include "protocol/codes.hpp"

namespace remo::core {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxManifestBytes = 64 * 1024;
constexpr std::size_t kMaxProjectNameLength = 64;

Error manifest_invalid(std::string message) {
  return Error{std::string(protocol::code::kManifestInvalid), std::move(message)};
}

// Manifest text is untrusted but not secret; names from it are echoed, made safe for a log line.
std::string printable(std::string_view text) {
  constexpr std::size_t kMaxEcho = 64;
  std::string out;
  for (const char c : text.substr(0, kMaxEcho)) {
    const auto byte = static_cast<unsigned char>(c);
    out += (byte < 0x20 || byte >= 0x7f || c == '"' || c == '\\') ? '?' : c;
  }
  if (text.size() > kMaxEcho) out += "...";
  return out;
}

std::string in_quotes(std::string_view text) {
  std::string out = "\"";
  out += printable(text);
  out += '"';
  return out;
}

std::string key_path(std::string_view parent, std::string_view key) {
  const bool bare = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
  const std::string segment = bare ? std::string(key) : in_quotes(key);
  return parent.empty() ? segment : std::string(parent) + "." + segment;
}

std::string_view type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

Error wrong_type(const std::string& path, std::string_view expected, const toml::node& node) {
  return manifest_invalid(path + ": expected " + std::string(expected) + ", got " +
                          std::string(type_name(node)));
}

// Every key of a table must be one the schema knows.
Result<void> reject_unknown_keys(const toml::table& table, std::string_view table_path,
                                 std::initializer_list<std::string_view> known) {
  for (auto&& [key, node] : table) {
    if (std::find(known.begin(), known.end(), key.str()) != known.end()) continue;
    const std::string path = key_path(table_path, key.str());
    if (node.is_table()) return manifest_invalid("[" + path + "]: unknown table");
    return manifest_invalid(path + ": unknown key");
  }
  return {};
}

// A required (or, with required=false, optional) table member.
Result<const toml::table*> table_member(const toml::table& parent, std::string_view key, bool required) {
  const toml::node* node = parent.get(key);
  if (node == nullptr) {
    if (required) return manifest_invalid(std::string(key) + ": required table is missing");
    return static_cast<const toml::table*>(nullptr);
  }
  if (!node->is_table()) return wrong_type(std::string(key), "a table", *node);
  return node->as_table();
}

Result<std::optional<std::int64_t>> integer_in_range(const toml::table& table, std::string_view table_path,
                                                     std::string_view key, std::int64_t min,
                                                     std::int64_t max) {
  const toml::node* node = table.get(key);
  if (node == nullptr) return std::optional<std::int64_t>{};
  const std::string path = key_path(table_path, key);
  if (!node->is_integer()) return wrong_type(path, "an integer", *node);
  const std::int64_t value = node->as_integer()->get();
  if (value < min || value > max) {
    return manifest_invalid(path + ": " + std::to_string(value) + " is out of range " + std::to_string(min) +
                            ".." + std::to_string(max));
  }
  return std::optional<std::int64_t>(value);
}

Result<void> parse_schema_version(const toml::table& root) {
  const toml::node* node = root.get("schema_version");
  if (node == nullptr) return manifest_invalid("schema_version: required key is missing");
  if (!node->is_integer()) return wrong_type("schema_version", "an integer", *node);
  const std::int64_t version = node->as_integer()->get();
  if (version != protocol::kManifestSchemaVersion) {
    return manifest_invalid("schema_version: unsupported version " + std::to_string(version) + " (expected " +
                            std::to_string(protocol::kManifestSchemaVersion) + ")");
  }
  return {};
}

Result<void> parse_project(const toml::table& root, std::string_view expected_name, Manifest& manifest) {
  auto project = table_member(root, "project", true);
  if (!project) return std::move(project).error();
  const toml::table& table = **project;
  if (auto known = reject_unknown_keys(table, "project", {"name", "description"}); !known) return known;

  const toml::node* name = table.get("name");
  if (name == nullptr) return manifest_invalid("project.name: required key is missing");
  if (!name->is_string()) return wrong_type("project.name", "a string", *name);
  manifest.name = name->as_string()->get();
  if (!is_valid_project_name(manifest.name)) {
    return manifest_invalid("project.name: " + in_quotes(manifest.name) +
                            " is not a valid project name (expected ^[a-z0-9][a-z0-9_-]{0,63}$)");
  }
  if (manifest.name != expected_name) {
    return manifest_invalid("project.name: " + in_quotes(manifest.name) +
                            " does not match the registered name " + in_quotes(expected_name));
  }

  if (const toml::node* description = table.get("description"); description != nullptr) {
    if (!description->is_string()) return wrong_type("project.description", "a string", *description);
    manifest.description = description->as_string()->get();
  }
  return {};
}

Result<void> parse_allowlist(const toml::table& root, Manifest& manifest) {
  auto allowlist = table_member(root, "allowlist", true);
  if (!allowlist) return std::move(allowlist).error();
  const toml::table& table = **allowlist;
  if (auto known = reject_unknown_keys(table, "allowlist", {"secrets"}); !known) return known;

  const toml::node* secrets = table.get("secrets");
  if (secrets == nullptr) return manifest_invalid("allowlist.secrets: required key is missing");
  if (!secrets->is_array()) return wrong_type("allowlist.secrets", "an array", *secrets);

  std::set<std::string, std::less<>> seen;
  const toml::array& names = *secrets->as_array();
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string path = "allowlist.secrets[" + std::to_string(i) + "]";
    const toml::node& entry = *names.get(i);
    if (!entry.is_string()) return wrong_type(path, "a string", entry);
    const std::string& name = entry.as_string()->get();
    if (!is_valid_secret_name(name)) {
      return manifest_invalid(path + ": " + in_quotes(name) +
                              " is not a valid secret name (expected ^[A-Za-z0-9_]{1,128}$)");
    }
    if (!seen.insert(name).second)
      return manifest_invalid(path + ": " + in_quotes(name) + " is listed twice");
    manifest.allowlist.push_back(name);
  }
  return {};
}

Result<void> parse_cache(const toml::table& root, Manifest& manifest) {
  auto cache = table_member(root, "cache", false);
  if (!cache) return std::move(cache).error();
  if (*cache == nullptr) return {};
  const toml::table& table = **cache;
  if (auto known = reject_unknown_keys(table, "cache", {"ttl_seconds", "max_entries"}); !known) return known;

  auto ttl = integer_in_range(table, "cache", "ttl_seconds", 1, kMaxCacheTtlSeconds);
  if (!ttl) return std::move(ttl).error();
  auto max_entries = integer_in_range(table, "cache", "max_entries", 1, kMaxCacheEntries);
  if (!max_entries) return std::move(max_entries).error();
  manifest.cache_ttl_seconds = *ttl;
  manifest.cache_max_entries = *max_entries;
  return {};
}

Result<void> parse_limits(const toml::table& root, Manifest& manifest) {
  auto limits = table_member(root, "limits", false);
  if (!limits) return std::move(limits).error();
  if (*limits == nullptr) return {};
  const toml::table& table = **limits;
  if (auto known = reject_unknown_keys(table, "limits", {"requests_per_second", "burst"}); !known)
    return known;

  auto rate = integer_in_range(table, "limits", "requests_per_second", 1, kMaxRequestsPerSecond);
  if (!rate) return std::move(rate).error();
  auto burst = integer_in_range(table, "limits", "burst", 1, kMaxBurst);
  if (!burst) return std::move(burst).error();
  manifest.limits = ManifestLimits{*rate, *burst};
  return {};
}

// strerror() is not thread-safe; the generic category's message() is.
std::string errno_text(int error) { return std::generic_category().message(error); }

std::string position_of(const toml::source_position& where) {
  return "line " + std::to_string(where.line) + ", column " + std::to_string(where.column);
}

Error read_failed(const fs::path& file, int error) {
  if (error == ELOOP) return manifest_invalid(file.string() + ": is a symbolic link (not followed)");
  return manifest_invalid(file.string() + ": " + errno_text(error));
}

// Opens <directory>/<subdirectory>/<file_name> for reading without following a symlink in either
// component: the project directory is writable from inside the devcontainer, so .devcontainer (or .remo)
// could otherwise point at another project's manifest. An invalid fd with errno 0: the file is absent.
Result<UniqueFd> open_in_project(int directory, const std::string& subdirectory, const std::string& file_name,
                                 const fs::path& file) {
  const UniqueFd sub(
      ::openat(directory, subdirectory.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!sub) {
    const int error = errno;
    struct stat link {};
    if ((error == ENOTDIR || error == ELOOP) &&
        ::fstatat(directory, subdirectory.c_str(), &link, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISLNK(link.st_mode)) {
      return read_failed(file.parent_path(), ELOOP);
    }
    if (error == ENOENT || error == ENOTDIR) return UniqueFd();
    return read_failed(file.parent_path(), error);
  }
  UniqueFd fd(::openat(sub.get(), file_name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT || errno == ENOTDIR) return UniqueFd();
    return read_failed(file, errno);
  }
  return fd;
}

// Reads an open manifest file, refusing anything but a regular file with one link, of at most
// kMaxManifestBytes.
Result<std::string> read_manifest_text(const UniqueFd& fd, const fs::path& file) {
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) return manifest_invalid(file.string() + ": " + errno_text(errno));
  if (!S_ISREG(info.st_mode)) return manifest_invalid(file.string() + ": not a regular file");
  // A hard link can make another file (one the project's uid cannot read itself) the manifest, as a
  // symlink could: refuse it, so no part of such a file reaches a parse error.
  if (info.st_nlink > 1) return manifest_invalid(file.string() + ": has more than one hard link");
  const std::string too_large =
      file.string() + ": larger than " + std::to_string(kMaxManifestBytes / 1024) + " KiB";
  if (static_cast<std::uint64_t>(info.st_size) > kMaxManifestBytes) return manifest_invalid(too_large);

  // Read one byte past the limit so a file that grew after fstat is still refused.
  std::string text(kMaxManifestBytes + 1, '\0');
  std::size_t filled = 0;
  while (filled < text.size()) {
    const ssize_t n = ::read(fd.get(), text.data() + filled, text.size() - filled);
    if (n < 0) {
      if (errno == EINTR) continue;
      return manifest_invalid(file.string() + ": " + errno_text(errno));
    }
    if (n == 0) break;
    filled += static_cast<std::size_t>(n);
  }
  if (filled > kMaxManifestBytes) return manifest_invalid(too_large);
  text.resize(filled);
  return text;
}

std::string sha256_hex(std::string_view text) {
  std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(text.data()),  // NOLINT: bytes
                     text.size());
  std::array<char, crypto_hash_sha256_BYTES * 2 + 1> hex{};
  sodium_bin2hex(hex.data(), hex.size(), digest.data(), digest.size());
  return std::string(hex.data(), crypto_hash_sha256_BYTES * 2);
}

std::string directory_basename(const fs::path& project_path) {
  const fs::path normal = project_path.lexically_normal();
  return (normal.has_filename() ? normal : normal.parent_path()).filename().string();
}

}  // namespace

bool Manifest::allows(std::string_view secret_name) const {
  return std::find(allowlist.begin(), allowlist.end(), secret_name) != allowlist.end();
}

bool is_valid_project_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxProjectNameLength) return false;
  const auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lower_or_digit(name.front())) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return lower_or_digit(c) || c == '_' || c == '-'; });
}

Result<Manifest> parse_manifest(std::string_view toml_text, std::string_view expected_name) {
  if (const auto unsafe = find_unsafe_toml_text(toml_text)) {
    return manifest_invalid("not accepted TOML (byte offset " + std::to_string(unsafe->offset) +
                            "): " + std::string(unsafe->why));
  }
  toml::table root;
  try {
    root = toml::parse(toml_text);
  } catch (const toml::parse_error& error) {
    return manifest_invalid("not valid TOML (" + position_of(error.source().begin) +
                            "): " + printable(error.description()));
  }

  Manifest manifest;
  if (auto known =
          reject_unknown_keys(root, "", {"schema_version", "project", "allowlist", "cache", "limits"});
      !known) {
    return std::move(known).error();
  }
  if (auto version = parse_schema_version(root); !version) return std::move(version).error();
  if (auto project = parse_project(root, expected_name, manifest); !project)
    return std::move(project).error();
  if (auto allowlist = parse_allowlist(root, manifest); !allowlist) return std::move(allowlist).error();
  if (auto cache = parse_cache(root, manifest); !cache) return std::move(cache).error();
  if (auto limits = parse_limits(root, manifest); !limits) return std::move(limits).error();
  return manifest;
}

ManifestReading read_manifest(const fs::path& project_path, std::string_view expected_name) {
  if (const std::string basename = directory_basename(project_path); basename != expected_name) {
    return {manifest_invalid(project_path.string() + ": the directory name " + in_quotes(basename) +
                             " is not the project name " + in_quotes(expected_name)),
            std::nullopt};
  }
  const UniqueFd directory(::open(project_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!directory) return {read_failed(project_path, errno), std::nullopt};
  const std::array<std::pair<std::string, std::string>, 2> candidates = {
      std::pair{std::string(".devcontainer"), std::string("remo-broker.toml")},
      std::pair{std::string(".remo"), std::string("broker.toml")}};
  for (const auto& [subdirectory, file_name] : candidates) {
    const fs::path file = project_path / subdirectory / file_name;
    auto fd = open_in_project(directory.get(), subdirectory, file_name, file);
    if (!fd) return {std::move(fd).error(), std::nullopt};
    if (!*fd) continue;
    auto text = read_manifest_text(*fd, file);
    if (!text) return {std::move(text).error(), std::nullopt};
    std::string text_sha256 = sha256_hex(*text);
    auto manifest = parse_manifest(*text, expected_name);
    sodium_memzero(text->data(), text->size());  // a look-alike file (a symlink target) is not kept around
    if (!manifest) {
      Error error = std::move(manifest).error();
      error.message = file.string() + ": " + error.message;
      return {std::move(error), std::move(text_sha256)};
    }
    manifest->source = file;
    manifest->sha256 = text_sha256;
    return {std::move(manifest), std::move(text_sha256)};
  }
  return {Error{std::string(protocol::code::kManifestNotFound),
                "no manifest: neither " + (project_path / ".devcontainer" / "remo-broker.toml").string() +
                    " nor " + (project_path / ".remo" / "broker.toml").string() + " exists"},
          std::nullopt};
}

Result<Manifest> load_manifest(const fs::path& project_path, std::string_view expected_name) {
  return read_manifest(project_path, expected_name).manifest;
}

}  // namespace remo::core
