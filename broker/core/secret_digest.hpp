// Keyed digests of secrets, for `remo-brokerctl push --dry-run`: the laptop sends a fresh random key, the
// broker answers BLAKE2b-256(key, name || 0x00 || value) per loaded secret, and the laptop computes the
// same over its bundle to see which names a push would add, change or remove. The key is fresh for every
// comparison, so a digest can neither be matched against a guess made beforehand nor linked to another
// run. Names never contain a NUL byte, which makes name || 0x00 || value unambiguous.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace remo::core {

inline constexpr std::size_t kDigestKeySize = 32;

// Lowercase hex of the 32-byte digest. key must be kDigestKeySize bytes.
std::string secret_digest_hex(std::span<const std::uint8_t> key, std::string_view name,
                              std::span<const std::uint8_t> value);

}  // namespace remo::core
