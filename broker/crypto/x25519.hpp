// The X25519 recipient type: wrapping the file key to a recipient and unwrapping it with an identity.
//
//   -> X25519 <base64 ephemeral share, 32 bytes>
//   <base64 ChaCha20-Poly1305(wrap key, zero nonce, file key), 32 bytes>
//
// wrap key = HKDF-SHA-256(salt = share || recipient, ikm = X25519(secret, peer), info = kX25519Label).
// X25519Recipient and X25519Identity themselves are declared in age.hpp.
#pragma once

#include <optional>
#include <string_view>

#include "broker/common/result.hpp"
#include "broker/crypto/age.hpp"
#include "broker/crypto/format.hpp"
#include "broker/crypto/secure_buffer.hpp"

namespace remo::crypto::x25519 {

inline constexpr std::string_view kStanzaType = "X25519";
inline constexpr std::string_view kLabel = "age-encryption.org/v1/X25519";
inline constexpr std::size_t kFileKeySize = 16;
inline constexpr std::size_t kWrappedFileKeySize = kFileKeySize + 16;

// A fresh stanza wrapping file_key (16 bytes) to recipient. Fails ("recipient") for a low-order
// public key, which would make the shared secret all zeros.
Result<format::Stanza> wrap(const SecureBuffer& file_key, const X25519Recipient& recipient);

// Whether an X25519 stanza is well-formed: exactly one argument, the canonical unpadded base64 of a
// 32-byte share, and a 32-byte body. Errors have code "header".
Result<void> check_stanza(const format::Stanza& stanza);

// The file key if this identity unwraps the (well-formed) stanza, std::nullopt if the stanza is for
// someone else. A low-order share (all-zero shared secret) is an error ("header"), as the spec demands.
Result<std::optional<SecureBuffer>> unwrap(const format::Stanza& stanza, const X25519Identity& identity);

}  // namespace remo::crypto::x25519
