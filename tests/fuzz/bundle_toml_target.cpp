// Fuzz target: the bundle parser (TOML plaintext -> SecretSet). Invariants: a refusal is invalid_payload
// and never quotes the input (a bundle is secret: the message may name positions, not text); an accepted
// bundle holds only valid secret names, each of which it finds.
#include "broker/core/secret_set.hpp"
#include "protocol/codes.hpp"
#include "tests/fuzz/fuzz_targets.hpp"

namespace remo::fuzz {
namespace {

// Whether message contains a run of at least kQuoteLength bytes copied from text. Fixed phrases of the
// parser are short or made of ordinary words, so only long runs of input count as quoting it.
bool quotes_input(std::string_view message, std::string_view text) {
  constexpr std::size_t kQuoteLength = 24;
  if (text.size() < kQuoteLength) return false;
  for (std::size_t at = 0; at + kQuoteLength <= text.size(); ++at) {
    if (message.find(text.substr(at, kQuoteLength)) != std::string_view::npos) return true;
  }
  return false;
}

}  // namespace

void bundle_toml(Input input) {
  const std::string_view text = as_text(input);
  auto set = core::SecretSet::parse_bundle(text);
  if (!set) {
    fuzz_require(set.error().code == protocol::code::kInvalidPayload, "bundle errors are invalid_payload");
    fuzz_require(!quotes_input(set.error().message, text), "a bundle error quotes none of the bundle");
    return;
  }
  for (const std::string& name : set->names()) {
    fuzz_require(core::is_valid_secret_name(name), "accepted names are valid secret names");
    fuzz_require(set->find(name) != nullptr, "every listed name is found");
  }
}

}  // namespace remo::fuzz
