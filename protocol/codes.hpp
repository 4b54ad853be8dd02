// Wire error codes (protocol_version 2). Every failure reply is
// {"ok":false,"code":<one of these>,"message":<human sentence, never a secret>}.
#pragma once

#include <string_view>

namespace remo::protocol {

inline constexpr int kProtocolVersion = 2;
inline constexpr int kManifestSchemaVersion = 1;
inline constexpr std::size_t kProjectLineLimit = 64 * 1024;
inline constexpr std::size_t kAdminLineLimit = 1024 * 1024;

namespace code {
// Project socket
inline constexpr std::string_view kDenied = "denied";
inline constexpr std::string_view kNotFound = "not_found";
inline constexpr std::string_view kRateLimited = "rate_limited";
inline constexpr std::string_view kLocked = "locked";
inline constexpr std::string_view kProtocolError = "protocol_error";
inline constexpr std::string_view kPeerUnexpected = "peer_unexpected";
inline constexpr std::string_view kInternalError = "internal_error";
// Admin socket adds
inline constexpr std::string_view kDecryptFailed = "decrypt_failed";
inline constexpr std::string_view kInvalidPayload = "invalid_payload";
inline constexpr std::string_view kManifestInvalid = "manifest_invalid";
inline constexpr std::string_view kManifestNotFound = "manifest_not_found";
inline constexpr std::string_view kProjectUnknown = "project_unknown";
inline constexpr std::string_view kProjectExists = "project_exists";
inline constexpr std::string_view kBootstrapError = "bootstrap_error";
inline constexpr std::string_view kSignatureInvalid = "signature_invalid";
}  // namespace code

}  // namespace remo::protocol
