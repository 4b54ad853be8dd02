// Fuzz target: the age header parser and the ASCII armor decoder, each on the whole input.
// Invariants: both parsers are canonical, so what they accept they give back byte for byte — a parsed
// header serializes to exactly the bytes it was parsed from, and decoded armor re-encodes to armor that
// decodes to the same bytes; the header's reported sizes lie within the input.
#include "broker/crypto/armor.hpp"
#include "broker/crypto/format.hpp"
#include "tests/fuzz/fuzz_targets.hpp"

namespace remo::fuzz {

void age_header(Input input) {
  if (auto parsed = crypto::format::parse_header(input)) {
    fuzz_require(parsed->mac_input_size < parsed->size && parsed->size <= input.size(),
                 "the header's sizes lie within the input");
    const std::string serialized = crypto::format::serialize_header(parsed->header);
    fuzz_require(serialized == as_text(input.first(parsed->size)), "a parsed header serializes to its bytes");
    const std::string mac_input = crypto::format::serialize_mac_input(parsed->header.stanzas);
    fuzz_require(mac_input == as_text(input.first(parsed->mac_input_size)),
                 "the MAC input is the header up to and including \"---\"");
  } else {
    fuzz_require(parsed.error().code == "header", "header errors have the code \"header\"");
  }

  if (auto binary = crypto::armor::decode(input)) {
    fuzz_require(crypto::armor::looks_armored(input), "decoded input looks armored");
    const std::vector<std::uint8_t> armored = crypto::armor::encode(*binary);
    auto again = crypto::armor::decode(armored);
    fuzz_require(again.ok() && *again == *binary, "armor re-encodes to the same bytes");
  } else {
    fuzz_require(binary.error().code == "armor", "armor errors have the code \"armor\"");
  }
}

}  // namespace remo::fuzz
