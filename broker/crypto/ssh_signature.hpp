// OpenSSH signatures over bundles: the armored SSHSIG format that `ssh-keygen -Y sign` writes
// (PROTOCOL.sshsig), checked against an OpenSSH allowed_signers file (ssh-keygen(1), "ALLOWED SIGNERS").
// Only Ed25519 keys are supported. No I/O: callers read the files and pass their text.
//
// Error codes returned by this layer:
//   "signature_invalid"  the signature does not prove the message came from an allowed signer; the message
//                        starts with one of the ssh_signature_reason phrases below, then ": " and details
//   "allowed_signers"    the allowed_signers text is malformed; the message names the line
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "broker/common/result.hpp"

namespace remo::crypto {

// The namespace `remo-brokerctl` and operators sign bundles in: `ssh-keygen -Y sign -n remo-broker`.
inline constexpr std::string_view kBundleSignatureNamespace = "remo-broker";
inline constexpr std::size_t kEd25519PublicKeySize = 32;
inline constexpr std::size_t kEd25519SignatureSize = 64;
// An Ed25519 SSHSIG is about 300 bytes armored; anything far larger is refused before decoding.
inline constexpr std::size_t kMaxArmoredSignatureSize = 16 * 1024;

// The first words of every "signature_invalid" message, for callers and tests that branch on the reason.
namespace ssh_signature_reason {
inline constexpr std::string_view kTooLarge = "signature too large";
inline constexpr std::string_view kMalformedArmor = "malformed armor";
inline constexpr std::string_view kMalformedSignature = "malformed signature";
inline constexpr std::string_view kUnsupportedVersion = "unsupported signature version";
inline constexpr std::string_view kUnsupportedKeyType = "unsupported key type";
inline constexpr std::string_view kUnsupportedHash = "unsupported hash algorithm";
inline constexpr std::string_view kWrongNamespace = "wrong namespace";
inline constexpr std::string_view kBadSignature = "bad signature";
inline constexpr std::string_view kUnknownKey = "unknown key";
inline constexpr std::string_view kNamespaceNotAllowed = "key not allowed for namespace";
inline constexpr std::string_view kKeyNotYetValid = "key not yet valid";
inline constexpr std::string_view kKeyExpired = "key expired";
}  // namespace ssh_signature_reason

using Ed25519PublicKey = std::array<std::uint8_t, kEd25519PublicKeySize>;

// One usable line of an allowed_signers file.
struct AllowedSigner {
  std::string principals;         // the principals field as written (unquoted), e.g. "alice@example.com"
  Ed25519PublicKey public_key{};  // from "ssh-ed25519 AAAA..."
  std::optional<std::string> namespaces;  // namespaces="..." pattern list; absent = every namespace
  std::optional<std::chrono::sys_seconds> valid_after;   // inclusive
  std::optional<std::chrono::sys_seconds> valid_before;  // inclusive, as ssh-keygen compares
  std::string comment;
  std::size_t line = 0;  // 1-based line number in the file
};

struct AllowedSigners {
  std::vector<AllowedSigner> signers;
  // Lines that parsed but can never match, each "line N: why" (other key types, cert-authority).
  std::vector<std::string> notes;
};

// Parses allowed_signers text: "principals [options] keytype base64-key [comment]" per line, '#' comments
// and blank lines skipped. Options: namespaces="…", valid-after="…", valid-before="…" (YYYYMMDD[HHMM[SS]],
// with a "Z" or "UTC" suffix for UTC, else local time, as ssh-keygen reads them) and cert-authority.
// ssh-ed25519 lines become signers; other key types and cert-authority lines become notes. Any malformed
// line fails the whole file with code "allowed_signers" and the line number.
Result<AllowedSigners> parse_allowed_signers(std::string_view text);

// The fields of a decoded SSHSIG blob (all of them, since every one is covered by the signature).
struct SshSignature {
  Ed25519PublicKey public_key{};
  std::string signature_namespace;
  std::vector<std::uint8_t> reserved;  // empty as OpenSSH writes it; signed over as carried
  std::string hash_algorithm;          // "sha512" or "sha256"
  std::array<std::uint8_t, kEd25519SignatureSize> signature{};
};

// Decodes "-----BEGIN SSH SIGNATURE-----" … "-----END SSH SIGNATURE-----" (surrounding whitespace allowed,
// nothing else) and the SSHSIG blob inside, checking every length against the bytes that remain and
// refusing trailing bytes. Errors are "signature_invalid".
Result<SshSignature> parse_ssh_signature(std::string_view armored);

// Who signed: the principals field of the allowed_signers line that matched, and the key's fingerprint in
// the form `ssh-keygen -l` prints ("SHA256:" + unpadded base64).
struct SignerMatch {
  std::string principal;
  std::string fingerprint;
};

// Verifies that `signature` is a valid Ed25519 SSHSIG over `message` in `expected_namespace`, made by a
// key of `allowed` whose namespaces option (if any) admits that namespace and whose validity window (if
// any) contains `now`. The first such line wins.
Result<SignerMatch> verify_ssh_signature(
    std::span<const std::uint8_t> message, const SshSignature& signature, const AllowedSigners& allowed,
    std::string_view expected_namespace = kBundleSignatureNamespace,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

// parse_ssh_signature, then the above.
Result<SignerMatch> verify_ssh_signature(
    std::span<const std::uint8_t> message, std::string_view armored_signature, const AllowedSigners& allowed,
    std::string_view expected_namespace = kBundleSignatureNamespace,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

// "SHA256:…" for an Ed25519 public key, identical to `ssh-keygen -l`.
std::string ssh_key_fingerprint(const Ed25519PublicKey& public_key);

}  // namespace remo::crypto
