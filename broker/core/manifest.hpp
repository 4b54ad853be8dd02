// The project manifest (schema_version 1): which secrets a project's socket may serve.
// Found at <project_path>/.devcontainer/remo-broker.toml, else <project_path>/.remo/broker.toml.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/common/result.hpp"

namespace remo::core {

// The ranges of the manifest's numeric settings (each 1..max).
inline constexpr std::int64_t kMaxCacheTtlSeconds = 86400;
inline constexpr std::int64_t kMaxCacheEntries = 1024;
inline constexpr std::int64_t kMaxRequestsPerSecond = 1'000'000;
inline constexpr std::int64_t kMaxBurst = 1'000'000;

// The optional [limits] table: a project's own request rate limit for its data-plane ops. It can only
// tighten the broker's default (see server::project_rate_limits); each key absent = the default's.
struct ManifestLimits {
  std::optional<std::int64_t> requests_per_second;  // 1..1000000
  std::optional<std::int64_t> burst;                // 1..1000000
};

struct Manifest {
  std::string name;
  std::string description;
  std::vector<std::string> allowlist;
  std::optional<std::int64_t> cache_ttl_seconds;  // accepted for compatibility (1..86400)
  std::optional<std::int64_t> cache_max_entries;  // accepted for compatibility (1..1024)
  ManifestLimits limits;
  std::filesystem::path source;  // the file it was read from
  std::string sha256;            // of the file's text, lowercase hex (empty when parsed from a string)

  bool allows(std::string_view secret_name) const;
};

bool is_valid_project_name(std::string_view name);

// Strict parse. Errors: "manifest_invalid" naming the key (unknown tables/keys, wrong types,
// out-of-range values, duplicates, name not equal to expected_name).
Result<Manifest> parse_manifest(std::string_view toml_text, std::string_view expected_name);

// What a project directory holds where its manifest belongs: the parsed manifest or why not, and the SHA-256
// of the file's text whenever a file was read (an unparseable manifest has one too, so each distinct content
// can be told apart). Neither .devcontainer/.remo nor the file is followed if it is a symbolic link.
struct ManifestReading {
  Result<Manifest> manifest;
  std::optional<std::string> text_sha256;
};
ManifestReading read_manifest(const std::filesystem::path& project_path, std::string_view expected_name);

// Finds and parses the manifest of a project directory. Errors: "manifest_not_found", "manifest_invalid".
// expected_name is the registered name, which must equal the directory's basename.
Result<Manifest> load_manifest(const std::filesystem::path& project_path, std::string_view expected_name);

}  // namespace remo::core
