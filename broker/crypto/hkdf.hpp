// HMAC-SHA-256 and HKDF-SHA-256 (RFC 5869) on libsodium's crypto_auth_hmacsha256, the two key
// derivation primitives of age: stanza wrap keys, the header MAC key and the payload key.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace remo::crypto {

inline constexpr std::size_t kSha256Size = 32;

// HMAC-SHA-256 of message under a key of any length.
std::array<std::uint8_t, kSha256Size> hmac_sha256(std::span<const std::uint8_t> key,
                                                  std::span<const std::uint8_t> message);

// Fills out (at most 255 * 32 bytes) with HKDF-SHA-256(salt, ikm, info). An empty salt means a
// string of zeros, as RFC 5869 specifies. Intermediate keys are wiped.
void hkdf_sha256(std::span<const std::uint8_t> salt, std::span<const std::uint8_t> ikm,
                 std::span<const std::uint8_t> info, std::span<std::uint8_t> out);

inline std::span<const std::uint8_t> as_bytes(std::string_view text) noexcept {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};  // NOLINT
}

}  // namespace remo::crypto
