#include "protocol/requests.hpp"

#include <sodium.h>

#include <algorithm>
#include <string>
#include <utility>

#include "broker/core/claim_ledger.hpp"
#include "broker/core/claim_token.hpp"
#include "broker/core/manifest.hpp"
#include "broker/core/secret_set.hpp"
#include "broker/crypto/base64.hpp"
#include "protocol/codes.hpp"

namespace remo::protocol {
namespace {

using core::ClaimLedger;

// A request whose only checks are its fields.
template <class Typed>
Result<Typed> fields_only(const Request& request) {
  if (auto fields = expect_fields(request, Typed::kFields); !fields) return std::move(fields).error();
  return Typed{};
}

Result<std::string_view> project_name(const Request& request, std::string_view key) {
  const auto name = string_field(request, key);
  if (!name) return name.error();
  if (!core::is_valid_project_name(*name)) {
    return protocol_error("field '" + std::string(key) +
                          "' must be a project name (^[a-z0-9][a-z0-9_-]{0,63}$)");
  }
  return *name;
}

// The manifest the admin reviewed (register, reload): 64 lowercase hex digits.
Result<std::optional<std::string_view>> expected_sha256(const Request& request) {
  const auto field = request.body.find(field::kExpectManifestSha256);
  if (field == request.body.end()) return std::optional<std::string_view>{};
  const bool hex =
      field->is_string() && field->get_ref<const std::string&>().size() == 64 &&
      field->get_ref<const std::string&>().find_first_not_of("0123456789abcdef") == std::string::npos;
  if (!hex) return protocol_error("field 'expect_manifest_sha256' must be 64 lowercase hex digits");
  return std::optional<std::string_view>{field->get_ref<const std::string&>()};
}

// Standard base64 with padding, canonical only. Line breaks and spaces are dropped first: base64 tools wrap
// lines.
std::optional<std::vector<std::uint8_t>> decode_wrapped_base64(std::string_view text) {
  std::string compact;
  compact.reserve(text.size());
  for (const char c : text) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') compact.push_back(c);
  }
  return crypto::base64::decode(compact, crypto::base64::Padding::kRequired);
}

Result<std::int64_t> ttl_field(const Request& request) {
  const auto field = request.body.find(field::kTtlSeconds);
  if (field == request.body.end()) return protocol_error("field 'ttl_seconds' is required");
  const std::string range = "between " + std::to_string(ClaimLedger::kMinTtlSeconds) + " and " +
                            std::to_string(ClaimLedger::kMaxTtlSeconds);
  if (!field->is_number_integer()) return protocol_error("field 'ttl_seconds' must be an integer " + range);
  // The parser keeps every non-negative integer as unsigned: a signed one is negative.
  const bool in_range =
      field->is_number_unsigned() &&
      field->get<std::uint64_t>() >= static_cast<std::uint64_t>(ClaimLedger::kMinTtlSeconds) &&
      field->get<std::uint64_t>() <= static_cast<std::uint64_t>(ClaimLedger::kMaxTtlSeconds);
  if (!in_range) return protocol_error("field 'ttl_seconds' must be " + range);
  return static_cast<std::int64_t>(field->get<std::uint64_t>());
}

// Exactly one of value (text) and value_b64 (bytes), copied into secure memory.
Result<void> one_shot_value(const Request& request, ClaimCreateRequest& typed) {
  const bool has_text = request.body.contains(field::kValue);
  const bool has_bytes = request.body.contains(field::kValueB64);
  if (has_text == has_bytes) {
    return protocol_error(has_text ? "give either field 'value' or field 'value_b64', not both"
                                   : "field 'value' or field 'value_b64' is required");
  }
  if (has_text) {
    const auto text = string_field(request, field::kValue);
    if (!text) return text.error();
    typed.value = crypto::SecureBuffer::copy_of(*text);
    return {};
  }
  const auto encoded = string_field(request, field::kValueB64);
  if (!encoded) return encoded.error();
  auto bytes = crypto::base64::decode(*encoded, crypto::base64::Padding::kRequired);
  if (!bytes) return protocol_error("field 'value_b64' is not valid base64 (standard alphabet, padded)");
  typed.value = crypto::SecureBuffer::copy_of(std::span<const std::uint8_t>(*bytes));
  sodium_memzero(bytes->data(), bytes->size());
  typed.from_base64 = true;
  return {};
}

// The envelope keeps the request in ordinary memory: a key read from it is wiped there once parsed. The
// handler owns the envelope; parsing it only ever wipes.
// C0 controls, DEL, and the C1 controls U+0080..U+009F (UTF-8 0xC2 0x80..0x9F; the text is valid UTF-8).
bool has_control_character(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x20 || byte == 0x7f) return true;
    if (byte == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) <= 0x9f) return true;
  }
  return false;
}

void wipe_field(const Request& request, std::string_view key) {
  wipe_string_field(const_cast<Request&>(request), key);  // NOLINT(cppcoreguidelines-pro-type-const-cast)
}

}  // namespace

Result<void> expect_fields(const Request& request, std::span<const FieldSpec> fields) {
  for (const auto& item : request.body.items()) {
    const std::string& key = item.key();
    if (key == field::kOp || key == field::kId) continue;
    const bool known =
        std::any_of(fields.begin(), fields.end(), [&key](const FieldSpec& spec) { return spec.name == key; });
    if (known) continue;
    std::string what = is_quotable(key) ? "unknown field '" + key + "'" : std::string("an unknown field");
    return protocol_error(what + " for op '" + request.op + "'");
  }
  return {};
}

Result<PingRequest> PingRequest::parse(const Request& request) { return fields_only<PingRequest>(request); }
Result<InfoRequest> InfoRequest::parse(const Request& request) { return fields_only<InfoRequest>(request); }
Result<StatusRequest> StatusRequest::parse(const Request& request) {
  return fields_only<StatusRequest>(request);
}
Result<GetPublicKeyRequest> GetPublicKeyRequest::parse(const Request& request) {
  return fields_only<GetPublicKeyRequest>(request);
}
Result<ClearCredsRequest> ClearCredsRequest::parse(const Request& request) {
  return fields_only<ClearCredsRequest>(request);
}
Result<ClaimListRequest> ClaimListRequest::parse(const Request& request) {
  return fields_only<ClaimListRequest>(request);
}
Result<UnlockRequest> UnlockRequest::parse(const Request& request) {
  return fields_only<UnlockRequest>(request);
}

Result<GetRequest> GetRequest::parse(const Request& request) {
  if (auto fields = expect_fields(request, kFields); !fields) return std::move(fields).error();
  const auto name = string_field(request, field::kName);
  if (!name) return name.error();
  if (!core::is_valid_secret_name(*name)) {
    return protocol_error("field 'name' must be a secret name (^[A-Za-z0-9_]{1,128}$)");
  }
  return GetRequest{*name};
}

Result<TokenRequest> TokenRequest::parse(const Request& request) {
  if (auto fields = expect_fields(request, kFields); !fields) return std::move(fields).error();
  const auto token = string_field(request, field::kToken);
  if (!token) return token.error();
  if (!core::claim_token::looks_like_token(*token)) {
    return protocol_error(
        "field 'token' is not a one-shot secret token (rbc_ and 43 URL-safe base64 characters)");
  }
  return TokenRequest{*token};
}

Result<PushCredsRequest> PushCredsRequest::parse(const Request& request) {
  if (auto fields = expect_fields(request, kFields); !fields) return std::move(fields).error();
  const auto encoded = string_field(request, field::kCiphertextB64);
  if (!encoded) return encoded.error();
  auto ciphertext = decode_wrapped_base64(*encoded);
  if (!ciphertext) return protocol_error("field 'ciphertext_b64' is not valid base64");
  PushCredsRequest typed;
  typed.ciphertext = std::move(*ciphertext);
  if (const auto signature = request.body.find(field::kSignature); signature != request.body.end()) {
    typed.signature = &*signature;
  }
  return typed;
}

Result<SecretDigestsRequest> SecretDigestsRequest::parse(const Request& request) {
  if (auto fields = expect_fields(request, kFields); !fields) return std::move(fields).error();
  const auto encoded = string_field(request, field::kKeyB64);
  if (!encoded) return encoded.error();
  auto key = crypto::base64::decode(*encoded, crypto::base64::Padding::kRequired);
  const bool valid = key && key->size() == kKeySize;
  SecretDigestsRequest typed;
  if (valid) typed.key = crypto::SecureBuffer::copy_of(std::span<const std::uint8_t>(*key));
  if (key) sodium_memzero(key->data(), key->size());
  if (!valid) return protocol_error("field 'key_b64' must be the base64 of 32 random bytes");
  return typed;
}

Result<RegisterRequest> RegisterRequest::parse(const Request& request) {
  if (auto fields = expect_fields(request, kFields); !fields) return std::move(fields).error();
  RegisterRequest typed;
  const auto name = project_name(request, field::kName);
  if (!name) return name.error();
  typed.name = *name;
  const auto path_text = string_field(request, field::kProjectPath);
  if (!path_text) return path_text.error();
  typed.project_path = std::filesystem::path(*path_text).lexically_normal();
  if (!typed.project_path.is_absolute())
    return protocol_error("field 'project_path' must be an absolute path");
  if (!typed.project_path.has_filename()) typed.project_path = typed.project_path.parent_path();  // a '/'
  auto uids = optional_id_list_field(request, field::kUids);
  if (!uids) return std::move(uids).error();
  if (*uids && (*uids)->empty()) {  // never read as "nobody" by one side and "anybody" by the other
    return protocol_error("field 'uids' must list at least one uid (omit it to serve any uid)");
  }
  typed.uids = std::move(*uids);
  const auto gid = optional_id_field(request, field::kGid);
  if (!gid) return gid.error();
  typed.gid = *gid;
  const auto expected = expected_sha256(request);
  if (!expected) return expected.error();
  typed.expect_manifest_sha256 = *expected;
  return typed;
}

Result<UnregisterRequest> UnregisterRequest::parse(const Request& request) {
  if (auto fields = expect_fields(request, kFields); !fields) return std::move(fields).error();
  const auto name = project_name(request, field::kName);
  if (!name) return name.error();
  return UnregisterRequest{*name};
}

Result<ReloadRequest> ReloadRequest::parse(const Request& request) {
  if (auto fields = expect_fields(request, kFields); !fields) return std::move(fields).error();
  ReloadRequest typed;
  const auto name = project_name(request, field::kName);
  if (!name) return name.error();
  typed.name = *name;
  if (const auto dry_run = request.body.find(field::kDryRun); dry_run != request.body.end()) {
    if (!dry_run->is_boolean()) return protocol_error("field 'dry_run' must be true or false");
    typed.dry_run = dry_run->get<bool>();
  }
  const auto expected = expected_sha256(request);
  if (!expected) return expected.error();
  typed.expect_manifest_sha256 = *expected;
  return typed;
}

Result<RotateBootstrapRequest> RotateBootstrapRequest::parse(const Request& request) {
  // The identity's text is wiped however this ends, a refusal included.
  struct WipeIdentity {
    const Request& request;
    ~WipeIdentity() { wipe_field(request, field::kIdentity); }
  } const wipe_identity{request};
  if (auto fields = expect_fields(request, kFields); !fields) return std::move(fields).error();
  const Json& body = request.body;
  if (body.contains(field::kConfirm) && !body[field::kConfirm].is_boolean()) {
    return protocol_error("field 'confirm' must be a boolean");
  }
  RotateBootstrapRequest typed;
  typed.confirm = body.value(field::kConfirm, false);
  if (typed.confirm) {
    if (body.contains(field::kIdentity))
      return protocol_error("field 'identity' is not allowed with 'confirm'");
    const auto text = string_field(request, field::kRecipient);
    if (!text) return text.error();
    auto recipient = crypto::X25519Recipient::parse(*text);
    if (!recipient) return protocol_error("field 'recipient' is not an age X25519 recipient (age1...)");
    typed.recipient = std::move(*recipient);
    return typed;
  }
  if (body.contains(field::kRecipient)) return protocol_error("field 'recipient' is only for 'confirm'");
  if (!body.contains(field::kIdentity)) return typed;
  const auto text = string_field(request, field::kIdentity);
  if (!text) return text.error();
  auto identity = crypto::X25519Identity::parse(*text);
  if (!identity)
    return protocol_error("field 'identity' is not an age X25519 identity (AGE-SECRET-KEY-1...)");
  typed.identity = std::move(*identity);
  return typed;
}

Result<ClaimCreateRequest> ClaimCreateRequest::parse(const Request& request) {
  if (auto fields = expect_fields(request, kFields); !fields) return std::move(fields).error();
  ClaimCreateRequest typed;
  const auto project = project_name(request, field::kProject);
  if (!project) return project.error();
  typed.project = *project;
  const auto ttl = ttl_field(request);
  if (!ttl) return ttl.error();
  typed.ttl_seconds = *ttl;
  if (auto value = one_shot_value(request, typed); !value) return std::move(value).error();
  if (typed.value.empty()) return protocol_error("a one-shot secret cannot be empty");
  if (typed.value.size() > ClaimLedger::kMaxValueBytes) {
    return protocol_error("a one-shot secret is limited to " + std::to_string(ClaimLedger::kMaxValueBytes) +
                          " bytes");
  }
  return typed;
}

Result<ClaimRevokeRequest> ClaimRevokeRequest::parse(const Request& request) {
  if (auto fields = expect_fields(request, kFields); !fields) return std::move(fields).error();
  const auto id = string_field(request, field::kClaimId);
  if (!id) return id.error();
  if (!core::claim_token::looks_like_id(*id)) {
    return protocol_error("field 'claim_id' is not a claim id (16 lowercase hex digits)");
  }
  return ClaimRevokeRequest{*id};
}

Result<LockRequest> LockRequest::parse(const Request& request) {
  if (auto fields = expect_fields(request, kFields); !fields) return std::move(fields).error();
  if (!request.body.contains(field::kReason)) return LockRequest{};
  const auto reason = string_field(request, field::kReason);
  if (!reason) return reason.error();
  if (reason->size() > kMaxLockReasonLength) {
    return protocol_error("field 'reason' is longer than " + std::to_string(kMaxLockReasonLength) + " bytes");
  }
  if (has_control_character(*reason))
    return protocol_error("field 'reason' must not contain control characters");
  return LockRequest{*reason};
}

}  // namespace remo::protocol
