// What commands parse from their arguments and inputs beyond the options themselves: numeric ids,
// exec's --env specs, claim tokens, and the SSH signature in front of push-creds' ciphertext. No I/O.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "broker/common/result.hpp"

namespace remo::cli {

// A uid, gid or ttl: decimal, 0..4294967294. Errors (code usage) name the option (what), not the text.
Result<std::uint32_t> parse_id(const std::string& text, std::string_view what);

// The armored SSH signature at the start of input (through its END line and one line break), and the
// ciphertext after it. Errors (code usage) say what is missing.
Result<std::pair<std::string, std::span<const std::uint8_t>>> split_signature(
    std::span<const std::uint8_t> input);

// A POSIX environment variable name: letters, digits and '_', not starting with a digit.
bool is_env_name(std::string_view name);

// Printable ASCII without quotes, backslashes or spaces, 1..1024 characters: any token the broker issues,
// and nothing that needs escaping. Callers never quote the token in a message.
bool is_token_text(std::string_view token);

// One exec --env NAME[=VAR]: the secret and the variable it goes into (VAR defaults to NAME).
struct WantedSecret {
  std::string secret;
  std::string variable;
};

// exec's --env options. Errors (code usage) name the offending option.
Result<std::vector<WantedSecret>> parse_env_specs(const std::vector<std::string>& specs);

}  // namespace remo::cli
