// Request lines that carry a secret (a claim token, a one-shot value) are built in secure memory: the
// JSON library would copy the secret into ordinary heap strings.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "broker/cli/broker_client.hpp"
#include "broker/crypto/secure_buffer.hpp"

namespace remo::cli {

// `plain` (an object of non-secret members, "op" first) with one more string member `key` whose value is
// `secret` (UTF-8 text, escaped here), then '\n'.
crypto::SecureBuffer request_with_secret(const Json& plain, std::string_view key,
                                         std::span<const std::uint8_t> secret);

// Standard padded base64 of bytes, in secure memory.
crypto::SecureBuffer base64_secure(std::span<const std::uint8_t> bytes);

}  // namespace remo::cli
