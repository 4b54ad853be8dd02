// One typed request per op. Each type names its op and its fields (kFields: name, JSON type, required),
// and parse() turns a request envelope into the type or into a protocol_error whose message names the
// field, never quoting a value. The fields an op accepts are exactly its kFields: any other is refused, so a
// misspelt optional field ("uid" for "uids") is never silently ignored. kFields is also what the schema test
// compares with protocol/remo-broker.schema.json, op by op.
//
// String fields are views into the envelope's body: a typed request lives no longer than its envelope. A
// field that carries a secret (token, value, identity, key) is read in place and decoded into secure memory
// where it is binary; the envelope (RequestWithSecrets) wipes the text.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "broker/common/result.hpp"
#include "broker/crypto/age.hpp"
#include "broker/crypto/secure_buffer.hpp"
#include "protocol/ops.hpp"
#include "protocol/request.hpp"

namespace remo::protocol {

enum class FieldType { kString, kInteger, kBoolean, kIntegerList };

struct FieldSpec {
  std::string_view name;
  FieldType type;
  bool required;
};

// The longest lock reason: it ends up in status, logs and audit lines.
inline constexpr std::size_t kMaxLockReasonLength = 256;

// Every field besides "op" and "id" must be one of fields (protocol_error naming the first that is not).
Result<void> expect_fields(const Request& request, std::span<const FieldSpec> fields);

struct PingRequest {
  static constexpr std::string_view kOp = op::kPing;
  static constexpr std::array<FieldSpec, 0> kFields{};
  static Result<PingRequest> parse(const Request& request);
};

struct InfoRequest {
  static constexpr std::string_view kOp = op::kInfo;
  static constexpr std::array<FieldSpec, 0> kFields{};
  static Result<InfoRequest> parse(const Request& request);
};

struct GetRequest {
  static constexpr std::string_view kOp = op::kGet;
  static constexpr std::array kFields{FieldSpec{field::kName, FieldType::kString, true}};
  std::string_view name;  // a secret name (^[A-Za-z0-9_]{1,128}$)
  static Result<GetRequest> parse(const Request& request);
};

// claim and delete: a one-shot secret's token (a secret: read in place, wiped with the envelope).
struct TokenRequest {
  static constexpr std::array kFields{FieldSpec{field::kToken, FieldType::kString, true}};
  std::string_view token;  // shaped like a token (rbc_ and 43 URL-safe base64 characters)
  static Result<TokenRequest> parse(const Request& request);
};
struct ClaimRequest : TokenRequest {
  static constexpr std::string_view kOp = op::kClaim;
};
struct DeleteRequest : TokenRequest {
  static constexpr std::string_view kOp = op::kDelete;
};

struct StatusRequest {
  static constexpr std::string_view kOp = op::kStatus;
  static constexpr std::array<FieldSpec, 0> kFields{};
  static Result<StatusRequest> parse(const Request& request);
};

struct GetPublicKeyRequest {
  static constexpr std::string_view kOp = op::kGetPublicKey;
  static constexpr std::array<FieldSpec, 0> kFields{};
  static Result<GetPublicKeyRequest> parse(const Request& request);
};

struct PushCredsRequest {
  static constexpr std::string_view kOp = op::kPushCreds;
  static constexpr std::array kFields{FieldSpec{field::kCiphertextB64, FieldType::kString, true},
                                      FieldSpec{field::kSignature, FieldType::kString, false}};
  std::vector<std::uint8_t> ciphertext;  // decoded (whitespace in the base64 ignored)
  // The armored signature as sent, unchecked: its type is checked only where signatures are required, so a
  // broker without allowed_signers ignores whatever a client sends there.
  const Json* signature = nullptr;
  static Result<PushCredsRequest> parse(const Request& request);
};

struct SecretDigestsRequest {
  static constexpr std::string_view kOp = op::kSecretDigests;
  static constexpr std::array kFields{FieldSpec{field::kKeyB64, FieldType::kString, true}};
  static constexpr std::size_t kKeySize = 32;
  crypto::SecureBuffer key;  // kKeySize bytes
  static Result<SecretDigestsRequest> parse(const Request& request);
};

struct ClearCredsRequest {
  static constexpr std::string_view kOp = op::kClearCreds;
  static constexpr std::array<FieldSpec, 0> kFields{};
  static Result<ClearCredsRequest> parse(const Request& request);
};

struct RegisterRequest {
  static constexpr std::string_view kOp = op::kRegister;
  static constexpr std::array kFields{FieldSpec{field::kName, FieldType::kString, true},
                                      FieldSpec{field::kProjectPath, FieldType::kString, true},
                                      FieldSpec{field::kUids, FieldType::kIntegerList, false},
                                      FieldSpec{field::kGid, FieldType::kInteger, false},
                                      FieldSpec{field::kExpectManifestSha256, FieldType::kString, false}};
  std::string_view name;                           // a project name
  std::filesystem::path project_path;              // absolute, normalized, no trailing '/'
  std::optional<std::vector<std::uint32_t>> uids;  // absent: any uid; never empty
  std::optional<std::uint32_t> gid;
  std::optional<std::string_view> expect_manifest_sha256;  // 64 lowercase hex digits
  static Result<RegisterRequest> parse(const Request& request);
};

struct UnregisterRequest {
  static constexpr std::string_view kOp = op::kUnregister;
  static constexpr std::array kFields{FieldSpec{field::kName, FieldType::kString, true}};
  std::string_view name;
  static Result<UnregisterRequest> parse(const Request& request);
};

struct ReloadRequest {
  static constexpr std::string_view kOp = op::kReload;
  static constexpr std::array kFields{FieldSpec{field::kName, FieldType::kString, true},
                                      FieldSpec{field::kDryRun, FieldType::kBoolean, false},
                                      FieldSpec{field::kExpectManifestSha256, FieldType::kString, false}};
  std::string_view name;
  bool dry_run = false;
  std::optional<std::string_view> expect_manifest_sha256;
  static Result<ReloadRequest> parse(const Request& request);
};

// Begin (identity optional: absent, the broker generates one) or confirm (recipient required).
struct RotateBootstrapRequest {
  static constexpr std::string_view kOp = op::kRotateBootstrap;
  static constexpr std::array kFields{FieldSpec{field::kIdentity, FieldType::kString, false},
                                      FieldSpec{field::kConfirm, FieldType::kBoolean, false},
                                      FieldSpec{field::kRecipient, FieldType::kString, false}};
  bool confirm = false;
  std::optional<crypto::X25519Recipient> recipient;  // confirm only
  std::optional<crypto::X25519Identity> identity;    // begin only; its text is wiped from the envelope
  static Result<RotateBootstrapRequest> parse(const Request& request);
};

struct ClaimCreateRequest {
  static constexpr std::string_view kOp = op::kClaimCreate;
  static constexpr std::array kFields{FieldSpec{field::kProject, FieldType::kString, true},
                                      FieldSpec{field::kValue, FieldType::kString, false},
                                      FieldSpec{field::kValueB64, FieldType::kString, false},
                                      FieldSpec{field::kTtlSeconds, FieldType::kInteger, true}};
  std::string_view project;
  std::int64_t ttl_seconds = 0;
  crypto::SecureBuffer value;  // never empty, at most ClaimLedger::kMaxValueBytes
  bool from_base64 = false;    // sent as value_b64
  static Result<ClaimCreateRequest> parse(const Request& request);
};

struct ClaimListRequest {
  static constexpr std::string_view kOp = op::kClaimList;
  static constexpr std::array<FieldSpec, 0> kFields{};
  static Result<ClaimListRequest> parse(const Request& request);
};

struct ClaimRevokeRequest {
  static constexpr std::string_view kOp = op::kClaimRevoke;
  static constexpr std::array kFields{FieldSpec{field::kClaimId, FieldType::kString, true}};
  std::string_view claim_id;  // 16 lowercase hex digits
  static Result<ClaimRevokeRequest> parse(const Request& request);
};

struct LockRequest {
  static constexpr std::string_view kOp = op::kLock;
  static constexpr std::array kFields{FieldSpec{field::kReason, FieldType::kString, false}};
  std::string_view reason;  // empty when absent; single line, printable, at most kMaxLockReasonLength
  static Result<LockRequest> parse(const Request& request);
};

struct UnlockRequest {
  static constexpr std::string_view kOp = op::kUnlock;
  static constexpr std::array<FieldSpec, 0> kFields{};
  static Result<UnlockRequest> parse(const Request& request);
};

}  // namespace remo::protocol
