// Secrets inside reply lines (get and claim values, claim-create tokens). The JSON library keeps strings
// in ordinary heap memory, so a secret is taken out of the raw line first: decoded from its JSON string
// form straight into secure memory, and the characters in the line overwritten before the rest of the
// reply is parsed.
#pragma once

#include <optional>
#include <string_view>

#include "broker/common/result.hpp"
#include "broker/crypto/secure_buffer.hpp"

namespace remo::cli {

// The string member key of the top-level object in line, decoded into secure memory and blanked in line;
// nullopt when line has no such member. A malformed string literal is an error (code malformed_reply).
Result<std::optional<crypto::SecureBuffer>> take_json_string(crypto::SecureBuffer& line,
                                                             std::string_view key);

// A value reply ({"value":...} or {"value_b64":...}): the value's bytes in secure memory, blanked in line.
// Error (malformed_reply) when neither member is there or value_b64 is not base64.
Result<crypto::SecureBuffer> take_secret_value(crypto::SecureBuffer& line);

}  // namespace remo::cli
