// Fuzz target: the project manifest parser (strict TOML schema), expecting the project "myrepo".
// Invariants: a refusal is manifest_invalid; an accepted manifest names "myrepo", lists only valid,
// distinct secret names, and keeps the optional cache values in range.
#include <set>

#include "broker/core/manifest.hpp"
#include "broker/core/secret_set.hpp"
#include "protocol/codes.hpp"
#include "tests/fuzz/fuzz_targets.hpp"

namespace remo::fuzz {

void manifest(Input input) {
  auto parsed = core::parse_manifest(as_text(input), "myrepo");
  if (!parsed) {
    fuzz_require(parsed.error().code == protocol::code::kManifestInvalid,
                 "manifest errors are manifest_invalid");
    return;
  }
  fuzz_require(parsed->name == "myrepo", "an accepted manifest names the expected project");
  std::set<std::string> seen;
  for (const std::string& name : parsed->allowlist) {
    fuzz_require(core::is_valid_secret_name(name), "allowlisted names are valid secret names");
    fuzz_require(seen.insert(name).second, "allowlisted names are distinct");
    fuzz_require(parsed->allows(name), "every allowlisted name is allowed");
  }
  if (parsed->cache_ttl_seconds) {
    fuzz_require(*parsed->cache_ttl_seconds >= 1 && *parsed->cache_ttl_seconds <= 86400, "ttl in range");
  }
  if (parsed->cache_max_entries) {
    fuzz_require(*parsed->cache_max_entries >= 1 && *parsed->cache_max_entries <= 1024,
                 "max_entries in range");
  }
}

}  // namespace remo::fuzz
