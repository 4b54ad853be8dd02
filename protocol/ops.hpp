// The names of the wire protocol: every op of each socket and every request field. The daemon's
// dispatchers and the CLI's request builders both spell them from here, so a name exists once.
#pragma once

#include <array>
#include <string_view>

namespace remo::protocol {

namespace op {
// Project socket
inline constexpr std::string_view kPing = "ping";
inline constexpr std::string_view kInfo = "info";
inline constexpr std::string_view kGet = "get";
inline constexpr std::string_view kClaim = "claim";
inline constexpr std::string_view kDelete = "delete";
// Admin socket
inline constexpr std::string_view kStatus = "status";
inline constexpr std::string_view kGetPublicKey = "get-public-key";
inline constexpr std::string_view kPushCreds = "push-creds";
inline constexpr std::string_view kSecretDigests = "secret-digests";
inline constexpr std::string_view kClearCreds = "clear-creds";
inline constexpr std::string_view kRegister = "register";
inline constexpr std::string_view kUnregister = "unregister";
inline constexpr std::string_view kReload = "reload";
inline constexpr std::string_view kRotateBootstrap = "rotate-bootstrap";
inline constexpr std::string_view kClaimCreate = "claim-create";
inline constexpr std::string_view kClaimList = "claim-list";
inline constexpr std::string_view kClaimRevoke = "claim-revoke";
inline constexpr std::string_view kLock = "lock";
inline constexpr std::string_view kUnlock = "unlock";

inline constexpr std::array kProjectOps{kPing, kInfo, kGet, kClaim, kDelete};
inline constexpr std::array kAdminOps{kStatus,    kGetPublicKey, kPushCreds, kSecretDigests,   kClearCreds,
                                      kRegister,  kUnregister,   kReload,    kRotateBootstrap, kClaimCreate,
                                      kClaimList, kClaimRevoke,  kLock,      kUnlock};
}  // namespace op

namespace field {
inline constexpr std::string_view kOp = "op";
inline constexpr std::string_view kId = "id";
inline constexpr std::string_view kName = "name";
inline constexpr std::string_view kToken = "token";
inline constexpr std::string_view kProject = "project";
inline constexpr std::string_view kValue = "value";
inline constexpr std::string_view kValueB64 = "value_b64";
inline constexpr std::string_view kTtlSeconds = "ttl_seconds";
inline constexpr std::string_view kClaimId = "claim_id";
inline constexpr std::string_view kReason = "reason";
inline constexpr std::string_view kIdentity = "identity";
inline constexpr std::string_view kConfirm = "confirm";
inline constexpr std::string_view kRecipient = "recipient";
inline constexpr std::string_view kCiphertextB64 = "ciphertext_b64";
inline constexpr std::string_view kSignature = "signature";
inline constexpr std::string_view kKeyB64 = "key_b64";
inline constexpr std::string_view kProjectPath = "project_path";
inline constexpr std::string_view kUids = "uids";
inline constexpr std::string_view kGid = "gid";
inline constexpr std::string_view kExpectManifestSha256 = "expect_manifest_sha256";
inline constexpr std::string_view kDryRun = "dry_run";
}  // namespace field

// Reply members that share their spelling with an error code: named here so that neither is ever a literal.
namespace reply {
inline constexpr std::string_view kLocked = "locked";
inline constexpr std::string_view kBootstrapError = "bootstrap_error";
}  // namespace reply

}  // namespace remo::protocol
