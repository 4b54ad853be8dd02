// Signed bundles: when the operator configures an OpenSSH allowed_signers file, push-creds must carry an
// SSH signature (`ssh-keygen -Y sign -n remo-broker`, armored SSHSIG) over the exact ciphertext bytes, made
// by an Ed25519 key listed there. It is checked before the bundle is decrypted: an unsigned or mis-signed
// bundle never reaches the age decryptor. Without allowed_signers a "signature" field is accepted and
// ignored, so laptops can sign before every instance requires it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>

#include "broker/common/result.hpp"
#include "broker/crypto/ssh_signature.hpp"
#include "protocol/request.hpp"

namespace remo::server {

// Reads and parses the allowed_signers file at start-up. Errors ("config", one line naming the file and,
// for a bad line, its number): unreadable, larger than 1 MiB, malformed, or without any ssh-ed25519 key
// (no push could ever be accepted).
Result<crypto::AllowedSigners> load_allowed_signers(const std::filesystem::path& file);

// The push-creds request's "signature" against its ciphertext. allowed empty: std::nullopt (not checked).
// Otherwise the signer, or: signature_invalid (missing, malformed, wrong namespace, bad signature, key not
// allowed; the message says which), protocol_error (not a string).
Result<std::optional<crypto::SignerMatch>> check_bundle_signature(
    const Json* signature, std::span<const std::uint8_t> ciphertext,
    const std::optional<crypto::AllowedSigners>& allowed);

}  // namespace remo::server
