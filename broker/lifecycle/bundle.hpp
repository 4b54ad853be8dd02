// Opening a bundle (what push-creds carries and secrets.enc keeps): age-decrypt it in memory with the
// broker's identities, then parse the TOML plaintext into a SecretSet. Nothing is stored here.
#pragma once

#include <cstdint>
#include <span>

#include "broker/common/result.hpp"
#include "broker/core/secret_set.hpp"
#include "broker/crypto/age.hpp"

namespace remo::server {

// Errors: decrypt_failed (the message names the failure class reported by the age layer, never content),
// invalid_payload (from the bundle parser: names a key or a TOML position, never a value).
Result<core::SecretSet> open_bundle(std::span<const std::uint8_t> ciphertext,
                                    std::span<const crypto::X25519Identity> identities);

}  // namespace remo::server
