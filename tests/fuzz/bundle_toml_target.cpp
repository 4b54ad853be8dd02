// Fuzz target: the bundle parser (TOML plaintext -> SecretSet). Invariants: a refusal is invalid_payload
// and repeats no value: the seeds and the dictionary plant kCanary in values, and since '-' cannot occur in
// a secret name (the one part of a bundle a message may echo) nor in the parser's fixed phrases, a message
// holding kCanary has quoted a value. An accepted bundle holds only valid names, each of which it finds.
#include "broker/core/secret_set.hpp"
#include "protocol/codes.hpp"
#include "tests/fuzz/fuzz_targets.hpp"

namespace remo::fuzz {
namespace {

constexpr std::string_view kCanary = "CANARY-";

}  // namespace

void bundle_toml(Input input) {
  auto set = core::SecretSet::parse_bundle(as_text(input));
  if (!set) {
    fuzz_require(set.error().code == protocol::code::kInvalidPayload, "bundle errors are invalid_payload");
    fuzz_require(set.error().message.find(kCanary) == std::string::npos, "a bundle error quotes no value");
    return;
  }
  for (const std::string& name : set->names()) {
    fuzz_require(core::is_valid_secret_name(name), "accepted names are valid secret names");
    fuzz_require(set->find(name) != nullptr, "every listed name is found");
  }
}

}  // namespace remo::fuzz
