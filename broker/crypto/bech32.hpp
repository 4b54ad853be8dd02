// Bech32 (BIP 173 checksum) as age uses it for recipients ("age1...") and identities
// ("AGE-SECRET-KEY-1..."). Unlike BIP 173 there is no 90-character limit. Both the data and the text
// live in secure memory because identities are secret keys.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "broker/common/result.hpp"
#include "broker/crypto/secure_buffer.hpp"

namespace remo::crypto::bech32 {

struct Decoded {
  std::string hrp;    // always lowercase
  SecureBuffer data;  // 8-bit bytes
};

// Encodes data under hrp; upper_case yields the all-uppercase form (used for secret keys).
// Fails ("bech32") when the human-readable part is empty or has characters outside 33..126.
Result<SecureBuffer> encode(std::string_view hrp, std::span<const std::uint8_t> data, bool upper_case);

// Decodes a bech32 string. Mixed case, a bad checksum, characters outside the charset, a missing
// separator and non-zero padding bits are all errors with code "bech32".
Result<Decoded> decode(std::string_view text);

}  // namespace remo::crypto::bech32
