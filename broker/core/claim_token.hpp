// One-shot secret tokens and ids.
//
// A token is the capability to claim one secret: "rbc_" followed by 32 random bytes in URL-safe base64
// without padding (256 bits; 47 characters in all). The ledger never stores a token, only its keyed hash
// (BLAKE2b via crypto_generichash, keyed with the ledger's secret key), so a copy of the ledger's
// bookkeeping is useless for claiming, and looking a token up by its hash leaks nothing through timing
// that could help guess another one.
//
// An id names a claim in listings and audit lines: 8 random bytes as 16 lowercase hex characters. Ids are
// not secret and grant nothing.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "broker/crypto/secure_buffer.hpp"

namespace remo::core::claim_token {

inline constexpr std::string_view kPrefix = "rbc_";
inline constexpr std::size_t kRandomBytes = 32;
inline constexpr std::size_t kEncodedSize = kPrefix.size() + 43;  // 32 bytes in unpadded base64
inline constexpr std::size_t kKeySize = 32;
inline constexpr std::size_t kHashSize = 32;
inline constexpr std::size_t kIdBytes = 8;
inline constexpr std::size_t kIdSize = kIdBytes * 2;

using Hash = std::array<std::uint8_t, kHashSize>;

// A fresh token, in secure memory.
crypto::SecureBuffer generate_token();
// A fresh ledger key, in secure memory.
crypto::SecureBuffer generate_key();
// A fresh id.
std::string generate_id();

// Whether text has the shape of a token (prefix, length, alphabet). A cheap filter before hashing.
bool looks_like_token(std::string_view text) noexcept;
// Whether text has the shape of an id.
bool looks_like_id(std::string_view text) noexcept;

// BLAKE2b-256 of the token, keyed with the ledger key (kKeySize bytes).
Hash keyed_hash(std::string_view token, const crypto::SecureBuffer& key);

// Hex form of a hash for the ledger file, and back (false on anything but 64 lowercase hex digits).
std::string hash_to_hex(const Hash& hash);
bool hash_from_hex(std::string_view hex, Hash& out) noexcept;

// For unordered containers keyed by Hash: the hash is already uniformly random.
struct HashHasher {
  std::size_t operator()(const Hash& hash) const noexcept;
};

}  // namespace remo::core::claim_token
