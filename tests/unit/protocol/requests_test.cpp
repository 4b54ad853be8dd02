// The typed request parsers (protocol/requests.hpp), op by op: a valid request yields the typed fields, every
// refusal is a protocol_error with its exact message, and no message ever quotes a secret sent in a
// malformed request.
#include "protocol/requests.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <limits>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "broker/crypto/age.hpp"
#include "protocol/ops.hpp"
#include "protocol/request.hpp"

namespace remo::protocol {
namespace {

// A test identity made with age-keygen for these tests only, and its recipient.
constexpr std::string_view kIdentity =
    "AGE-SECRET-KEY-1QFPJ0609WTUDVDGMAHNM85UEGSRUH6QRGVLUPS0VYM6F0C77PAVQ7T52W7";
constexpr std::string_view kRecipient = "age1y9wvqelh9fmnrg73xxvfxmj9u68yhpv06rzk8cj9lyscl0gumc2s6g04zc";

// A well-formed one-shot token ("rbc_" and 43 URL-safe base64 characters, '-' and '_' included).
const std::string kToken = "rbc_" + std::string("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN-_0");
constexpr std::string_view kClaimId = "0123456789abcdef";
const std::string kSha256 = std::string(32, 'a') + std::string(32, '9');

// A secret planted in malformed requests: no message may contain it.
constexpr std::string_view kCanary = "CANARY-7f3a9";

std::string line_of(const Json& body) { return body.dump(); }

// The envelope of a line the request parser accepts.
Request envelope(const std::string& line) {
  Request request;
  const auto parsed = parse_request(line, request);
  EXPECT_TRUE(parsed.ok()) << (parsed.ok() ? std::string() : parsed.error().message);
  return request;
}
Request envelope(const Json& body) { return envelope(line_of(body)); }

// "get-public-key" -> "GetPublicKey", for test names.
std::string camel_case(std::string_view op) {
  std::string out;
  bool upper = true;
  for (const char c : op) {
    if (c == '-') {
      upper = true;
      continue;
    }
    out.push_back(upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c);
    upper = false;
  }
  return out;
}

// Every op's parser, reduced to accepted or refused.
template <class Typed>
Result<void> parse_as(const Request& request) {
  auto typed = Typed::parse(request);
  if (!typed) return std::move(typed).error();
  return {};
}

struct OpParser {
  std::string_view op;
  Result<void> (*parse)(const Request&);
};

constexpr std::array kParsers{
    OpParser{PingRequest::kOp, &parse_as<PingRequest>},
    OpParser{InfoRequest::kOp, &parse_as<InfoRequest>},
    OpParser{GetRequest::kOp, &parse_as<GetRequest>},
    OpParser{ClaimRequest::kOp, &parse_as<ClaimRequest>},
    OpParser{DeleteRequest::kOp, &parse_as<DeleteRequest>},
    OpParser{StatusRequest::kOp, &parse_as<StatusRequest>},
    OpParser{GetPublicKeyRequest::kOp, &parse_as<GetPublicKeyRequest>},
    OpParser{PushCredsRequest::kOp, &parse_as<PushCredsRequest>},
    OpParser{SecretDigestsRequest::kOp, &parse_as<SecretDigestsRequest>},
    OpParser{ClearCredsRequest::kOp, &parse_as<ClearCredsRequest>},
    OpParser{RegisterRequest::kOp, &parse_as<RegisterRequest>},
    OpParser{UnregisterRequest::kOp, &parse_as<UnregisterRequest>},
    OpParser{ReloadRequest::kOp, &parse_as<ReloadRequest>},
    OpParser{RotateBootstrapRequest::kOp, &parse_as<RotateBootstrapRequest>},
    OpParser{ClaimCreateRequest::kOp, &parse_as<ClaimCreateRequest>},
    OpParser{ClaimListRequest::kOp, &parse_as<ClaimListRequest>},
    OpParser{ClaimRevokeRequest::kOp, &parse_as<ClaimRevokeRequest>},
    OpParser{LockRequest::kOp, &parse_as<LockRequest>},
    OpParser{UnlockRequest::kOp, &parse_as<UnlockRequest>},
};

// Parses the envelope with the parser of its op.
Result<void> parse_typed(const Request& request) {
  for (const auto& parser : kParsers) {
    if (parser.op == request.op) return parser.parse(request);
  }
  ADD_FAILURE() << "no parser for op " << request.op;
  return protocol_error("no parser");
}

std::string base64_of(std::string_view bytes) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    std::uint32_t group = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (i + 1 < bytes.size())
      group |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    if (i + 2 < bytes.size()) group |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 2]));
    out.push_back(kAlphabet[(group >> 18) & 63]);
    out.push_back(kAlphabet[(group >> 12) & 63]);
    out.push_back(i + 1 < bytes.size() ? kAlphabet[(group >> 6) & 63] : '=');
    out.push_back(i + 2 < bytes.size() ? kAlphabet[group & 63] : '=');
  }
  return out;
}

std::string bytes_0_to(std::size_t n) {
  std::string bytes;
  for (std::size_t i = 0; i < n; ++i) bytes.push_back(static_cast<char>(i));
  return bytes;
}

std::string repeated(std::string_view text, std::size_t times) {
  std::string out;
  for (std::size_t i = 0; i < times; ++i) out.append(text);
  return out;
}

// body with key set to value.
Json with(Json body, std::string_view key, const Json& value) {
  body[std::string(key)] = value;
  return body;
}

bool all_zero(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c == '\0'; });
}

TEST(RequestParsers, EveryOpOfTheProtocolHasAParserHere) {
  std::set<std::string_view> ops;
  for (const auto& parser : kParsers) ops.insert(parser.op);
  EXPECT_EQ(ops.size(), kParsers.size());
  for (const auto op : op::kProjectOps) EXPECT_TRUE(ops.contains(op)) << op;
  for (const auto op : op::kAdminOps) EXPECT_TRUE(ops.contains(op)) << op;
  EXPECT_EQ(ops.size(), op::kProjectOps.size() + op::kAdminOps.size());
}

// ---------------------------------------------------------------------------------------------------------
// Ops without fields.

std::string op_test_name(const testing::TestParamInfo<std::string_view>& info) {
  return camel_case(info.param);
}

class FieldlessOps : public testing::TestWithParam<std::string_view> {};

TEST_P(FieldlessOps, AcceptOpAndIdOnly) {
  EXPECT_TRUE(parse_typed(envelope(Json{{"op", GetParam()}})).ok());
  EXPECT_TRUE(parse_typed(envelope(Json{{"id", "req-1"}, {"op", GetParam()}})).ok());
  EXPECT_TRUE(parse_typed(envelope(Json{{"op", GetParam()}, {"id", 42}})).ok());
}

INSTANTIATE_TEST_SUITE_P(Ops, FieldlessOps,
                         testing::Values(op::kPing, op::kInfo, op::kStatus, op::kGetPublicKey,
                                         op::kClearCreds, op::kClaimList, op::kUnlock),
                         op_test_name);

// ---------------------------------------------------------------------------------------------------------
// Valid requests and their typed fields.

TEST(GetRequestParse, ReadsTheSecretName) {
  const Request request = envelope(Json{{"op", "get"}, {"name", "API_KEY_2"}, {"id", 3}});
  const auto typed = GetRequest::parse(request);
  ASSERT_TRUE(typed.ok()) << typed.error().message;
  EXPECT_EQ(typed->name, "API_KEY_2");
}

TEST(GetRequestParse, AcceptsTheLongestSecretName) {
  const std::string name(128, 'Z');
  const Request request = envelope(Json{{"op", "get"}, {"name", name}});
  const auto typed = GetRequest::parse(request);
  ASSERT_TRUE(typed.ok()) << typed.error().message;
  EXPECT_EQ(typed->name, name);
}

TEST(TokenRequestParse, ClaimAndDeleteReadTheToken) {
  for (const auto op : {op::kClaim, op::kDelete}) {
    SCOPED_TRACE(op);
    const Request request = envelope(Json{{"op", op}, {"token", kToken}});
    const auto claim = ClaimRequest::parse(request);
    ASSERT_TRUE(claim.ok()) << claim.error().message;
    EXPECT_EQ(claim->token, kToken);
    const auto discard = DeleteRequest::parse(request);
    ASSERT_TRUE(discard.ok()) << discard.error().message;
    EXPECT_EQ(discard->token, kToken);
  }
}

TEST(PushCredsRequestParse, DecodesBase64WithWrappedLines) {
  const Request request =
      envelope(Json{{"op", "push-creds"}, {"ciphertext_b64", "YWJj\nZGVm\r\nZ2hp amts\t\n"}});
  const auto typed = PushCredsRequest::parse(request);
  ASSERT_TRUE(typed.ok()) << typed.error().message;
  EXPECT_EQ(std::string(typed->ciphertext.begin(), typed->ciphertext.end()), "abcdefghijkl");
  EXPECT_EQ(typed->signature, nullptr);
}

TEST(PushCredsRequestParse, DecodesBinaryBytes) {
  const std::string bytes = bytes_0_to(256);
  const Request request = envelope(Json{{"op", "push-creds"}, {"ciphertext_b64", base64_of(bytes)}});
  const auto typed = PushCredsRequest::parse(request);
  ASSERT_TRUE(typed.ok()) << typed.error().message;
  EXPECT_EQ(std::string(typed->ciphertext.begin(), typed->ciphertext.end()), bytes);
}

TEST(PushCredsRequestParse, PointsAtTheSignatureAsSent) {
  const Request request = envelope(
      Json{{"op", "push-creds"}, {"ciphertext_b64", "YWJj"}, {"signature", "-----BEGIN SSH SIGNATURE-----"}});
  const auto typed = PushCredsRequest::parse(request);
  ASSERT_TRUE(typed.ok()) << typed.error().message;
  ASSERT_NE(typed->signature, nullptr);
  EXPECT_EQ(typed->signature, &request.body.at("signature"));
  EXPECT_EQ(*typed->signature, "-----BEGIN SSH SIGNATURE-----");
}

TEST(PushCredsRequestParse, LeavesTheSignatureTypeToTheHandler) {
  // Only a broker that requires signatures checks the field, so its type is not the parser's concern.
  const Request request = envelope(Json{{"op", "push-creds"}, {"ciphertext_b64", "YWJj"}, {"signature", 7}});
  const auto typed = PushCredsRequest::parse(request);
  ASSERT_TRUE(typed.ok()) << typed.error().message;
  ASSERT_NE(typed->signature, nullptr);
  EXPECT_EQ(*typed->signature, 7);
}

TEST(SecretDigestsRequestParse, DecodesA32ByteKey) {
  const std::string key = bytes_0_to(32);
  const Request request = envelope(Json{{"op", "secret-digests"}, {"key_b64", base64_of(key)}});
  const auto typed = SecretDigestsRequest::parse(request);
  ASSERT_TRUE(typed.ok()) << typed.error().message;
  ASSERT_EQ(typed->key.size(), SecretDigestsRequest::kKeySize);
  EXPECT_EQ(typed->key.view(), key);
}

TEST(RegisterRequestParse, ReadsEveryField) {
  const Request request = envelope(Json{{"op", "register"},
                                        {"name", "my-app_1"},
                                        {"project_path", "/srv/app/"},
                                        {"uids", {0, 1000, 4294967294U}},
                                        {"gid", 4294967294U},
                                        {"expect_manifest_sha256", kSha256}});
  const auto typed = RegisterRequest::parse(request);
  ASSERT_TRUE(typed.ok()) << typed.error().message;
  EXPECT_EQ(typed->name, "my-app_1");
  EXPECT_EQ(typed->project_path, "/srv/app");
  ASSERT_TRUE(typed->uids.has_value());
  EXPECT_EQ(*typed->uids, (std::vector<std::uint32_t>{0, 1000, 4294967294U}));
  EXPECT_EQ(typed->gid, 4294967294U);
  EXPECT_EQ(typed->expect_manifest_sha256, kSha256);
}

TEST(RegisterRequestParse, OptionalFieldsAbsentMeanAnyone) {
  const Request request = envelope(Json{{"op", "register"}, {"name", "app"}, {"project_path", "/srv/app"}});
  const auto typed = RegisterRequest::parse(request);
  ASSERT_TRUE(typed.ok()) << typed.error().message;
  EXPECT_FALSE(typed->uids.has_value());
  EXPECT_FALSE(typed->gid.has_value());
  EXPECT_FALSE(typed->expect_manifest_sha256.has_value());
}

struct PathCase {
  std::string name;
  std::string sent;
  std::string expected;
};
void PrintTo(const PathCase& path, std::ostream* out) { *out << path.name; }

std::string path_test_name(const testing::TestParamInfo<PathCase>& info) { return info.param.name; }

class RegisterProjectPath : public testing::TestWithParam<PathCase> {};

TEST_P(RegisterProjectPath, IsNormalisedWithoutTrailingSlash) {
  const Request request =
      envelope(Json{{"op", "register"}, {"name", "app"}, {"project_path", GetParam().sent}});
  const auto typed = RegisterRequest::parse(request);
  ASSERT_TRUE(typed.ok()) << typed.error().message;
  EXPECT_EQ(typed->project_path.string(), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(Register, RegisterProjectPath,
                         testing::Values(PathCase{"Plain", "/srv/app", "/srv/app"},
                                         PathCase{"TrailingSlash", "/srv/app/", "/srv/app"},
                                         PathCase{"TrailingSlashes", "/srv/app//", "/srv/app"},
                                         PathCase{"DoubledSlashes", "/srv//app", "/srv/app"},
                                         PathCase{"DotSegments", "/srv/./app/.", "/srv/app"},
                                         PathCase{"DotDotSegments", "/srv/x/../app/sub/..", "/srv/app"},
                                         PathCase{"DotDotAboveRoot", "/../srv/app", "/srv/app"},
                                         PathCase{"Root", "/", "/"},
                                         PathCase{"RootWithDots", "/srv/..", "/"}),
                         path_test_name);

TEST(UnregisterRequestParse, ReadsTheProjectName) {
  const Request request = envelope(Json{{"op", "unregister"}, {"name", "app-2"}});
  const auto typed = UnregisterRequest::parse(request);
  ASSERT_TRUE(typed.ok()) << typed.error().message;
  EXPECT_EQ(typed->name, "app-2");
}

TEST(ReloadRequestParse, DryRunIsFalseUnlessSent) {
  const Request plain = envelope(Json{{"op", "reload"}, {"name", "app"}});
  const auto typed = ReloadRequest::parse(plain);
  ASSERT_TRUE(typed.ok()) << typed.error().message;
  EXPECT_EQ(typed->name, "app");
  EXPECT_FALSE(typed->dry_run);
  EXPECT_FALSE(typed->expect_manifest_sha256.has_value());

  for (const bool dry_run : {true, false}) {
    const Request request = envelope(Json{{"op", "reload"}, {"name", "app"}, {"dry_run", dry_run}});
    const auto sent = ReloadRequest::parse(request);
    ASSERT_TRUE(sent.ok()) << sent.error().message;
    EXPECT_EQ(sent->dry_run, dry_run);
  }
}

TEST(ReloadRequestParse, ReadsTheExpectedManifest) {
  const Request request = envelope(
      Json{{"op", "reload"}, {"name", "app"}, {"dry_run", true}, {"expect_manifest_sha256", kSha256}});
  const auto typed = ReloadRequest::parse(request);
  ASSERT_TRUE(typed.ok()) << typed.error().message;
  EXPECT_TRUE(typed->dry_run);
  EXPECT_EQ(typed->expect_manifest_sha256, kSha256);
}

TEST(RotateBootstrapRequestParse, BeginWithoutIdentityLetsTheBrokerGenerateOne) {
  const Request request = envelope(Json{{"op", "rotate-bootstrap"}});
  const auto typed = RotateBootstrapRequest::parse(request);
  ASSERT_TRUE(typed.ok()) << typed.error().message;
  EXPECT_FALSE(typed->confirm);
  EXPECT_FALSE(typed->identity.has_value());
  EXPECT_FALSE(typed->recipient.has_value());
}

TEST(RotateBootstrapRequestParse, BeginReadsTheIdentityAndWipesItsText) {
  Request request = envelope(Json{{"op", "rotate-bootstrap"}, {"identity", kIdentity}});
  const auto typed = RotateBootstrapRequest::parse(request);
  ASSERT_TRUE(typed.ok()) << typed.error().message;
  EXPECT_FALSE(typed->confirm);
  EXPECT_FALSE(typed->recipient.has_value());
  ASSERT_TRUE(typed->identity.has_value());
  EXPECT_EQ(typed->identity->recipient().encode(), kRecipient);
  EXPECT_EQ(typed->identity->encode().view(), kIdentity);

  const auto& text = request.body.at("identity").get_ref<const std::string&>();
  EXPECT_EQ(text.size(), kIdentity.size());
  EXPECT_TRUE(all_zero(text));
}

TEST(RotateBootstrapRequestParse, BeginWithConfirmFalseReadsAGeneratedIdentity) {
  const auto generated = crypto::X25519Identity::generate();
  const auto encoded = generated.encode();
  Request request = envelope(
      Json{{"op", "rotate-bootstrap"}, {"confirm", false}, {"identity", std::string(encoded.view())}});
  const auto typed = RotateBootstrapRequest::parse(request);
  ASSERT_TRUE(typed.ok()) << typed.error().message;
  EXPECT_FALSE(typed->confirm);
  ASSERT_TRUE(typed->identity.has_value());
  EXPECT_EQ(typed->identity->recipient(), generated.recipient());
  EXPECT_TRUE(std::equal(typed->identity->scalar().begin(), typed->identity->scalar().end(),
                         generated.scalar().begin(), generated.scalar().end()));
  EXPECT_TRUE(all_zero(request.body.at("identity").get_ref<const std::string&>()));
}

TEST(RotateBootstrapRequestParse, AnIdentityRefusedAsMalformedIsWipedToo) {
  Request request =
      envelope(Json{{"op", "rotate-bootstrap"}, {"identity", "AGE-SECRET-KEY-1" + std::string(kCanary)}});
  const auto typed = RotateBootstrapRequest::parse(request);
  ASSERT_FALSE(typed.ok());
  EXPECT_TRUE(all_zero(request.body.at("identity").get_ref<const std::string&>()));
}

TEST(RotateBootstrapRequestParse, ConfirmReadsTheRecipient) {
  const Request request =
      envelope(Json{{"op", "rotate-bootstrap"}, {"confirm", true}, {"recipient", kRecipient}});
  const auto typed = RotateBootstrapRequest::parse(request);
  ASSERT_TRUE(typed.ok()) << typed.error().message;
  EXPECT_TRUE(typed->confirm);
  EXPECT_FALSE(typed->identity.has_value());
  ASSERT_TRUE(typed->recipient.has_value());
  EXPECT_EQ(typed->recipient->encode(), kRecipient);
}

TEST(ClaimCreateRequestParse, ReadsATextValue) {
  const Request request =
      envelope(Json{{"op", "claim-create"}, {"project", "app"}, {"value", "hunter2 é"}, {"ttl_seconds", 60}});
  const auto typed = ClaimCreateRequest::parse(request);
  ASSERT_TRUE(typed.ok()) << typed.error().message;
  EXPECT_EQ(typed->project, "app");
  EXPECT_EQ(typed->ttl_seconds, 60);
  EXPECT_EQ(typed->value.view(), "hunter2 é");
  EXPECT_FALSE(typed->from_base64);
}

TEST(ClaimCreateRequestParse, DecodesABase64Value) {
  const Request request = envelope(
      Json{{"op", "claim-create"}, {"project", "app"}, {"value_b64", "AAEC/w=="}, {"ttl_seconds", 3600}});
  const auto typed = ClaimCreateRequest::parse(request);
  ASSERT_TRUE(typed.ok()) << typed.error().message;
  EXPECT_EQ(typed->ttl_seconds, 3600);
  EXPECT_EQ(typed->value.view(), std::string("\x00\x01\x02\xff", 4));
  EXPECT_TRUE(typed->from_base64);
}

TEST(ClaimCreateRequestParse, AcceptsTheTtlBounds) {
  for (const std::int64_t ttl : {std::int64_t{1}, std::int64_t{2592000}}) {
    const Request request =
        envelope(Json{{"op", "claim-create"}, {"project", "app"}, {"value", "v"}, {"ttl_seconds", ttl}});
    const auto typed = ClaimCreateRequest::parse(request);
    ASSERT_TRUE(typed.ok()) << typed.error().message;
    EXPECT_EQ(typed->ttl_seconds, ttl);
  }
}

TEST(ClaimCreateRequestParse, AcceptsA64KiBValue) {
  const std::string value(64 * 1024, 'v');
  const Request text =
      envelope(Json{{"op", "claim-create"}, {"project", "app"}, {"value", value}, {"ttl_seconds", 60}});
  const auto from_text = ClaimCreateRequest::parse(text);
  ASSERT_TRUE(from_text.ok()) << from_text.error().message;
  EXPECT_EQ(from_text->value.size(), value.size());

  const Request bytes = envelope(
      Json{{"op", "claim-create"}, {"project", "app"}, {"value_b64", base64_of(value)}, {"ttl_seconds", 60}});
  const auto from_bytes = ClaimCreateRequest::parse(bytes);
  ASSERT_TRUE(from_bytes.ok()) << from_bytes.error().message;
  EXPECT_EQ(from_bytes->value.size(), value.size());
}

TEST(ClaimRevokeRequestParse, ReadsTheClaimId) {
  const Request request = envelope(Json{{"op", "claim-revoke"}, {"claim_id", kClaimId}});
  const auto typed = ClaimRevokeRequest::parse(request);
  ASSERT_TRUE(typed.ok()) << typed.error().message;
  EXPECT_EQ(typed->claim_id, kClaimId);
}

TEST(LockRequestParse, ReasonIsEmptyWhenAbsent) {
  const Request request = envelope(Json{{"op", "lock"}});
  const auto typed = LockRequest::parse(request);
  ASSERT_TRUE(typed.ok()) << typed.error().message;
  EXPECT_TRUE(typed->reason.empty());
}

TEST(LockRequestParse, ReadsTheReason) {
  for (const std::string& reason :
       {std::string("laptop stolen"), std::string("clé perdue ~ 100% {\"x\"}"),
        std::string(kMaxLockReasonLength, 'r'), repeated("é", kMaxLockReasonLength / 2)}) {
    const Request request = envelope(Json{{"op", "lock"}, {"reason", reason}});
    const auto typed = LockRequest::parse(request);
    ASSERT_TRUE(typed.ok()) << typed.error().message;
    EXPECT_EQ(typed->reason, reason);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Refusals: the code and the exact message.

struct Refusal {
  std::string name;  // Op_What
  std::string line;
  std::string message;
};
void PrintTo(const Refusal& refusal, std::ostream* out) { *out << refusal.name; }

Refusal refusal(std::string name, const Json& body, std::string message) {
  return Refusal{std::move(name), line_of(body), std::move(message)};
}

std::string refusal_name(const testing::TestParamInfo<Refusal>& info) { return info.param.name; }

class Refusals : public testing::TestWithParam<Refusal> {};

TEST_P(Refusals, AreProtocolErrorsWithTheExactMessage) {
  const Request request = envelope(GetParam().line);
  const auto parsed = parse_typed(request);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code, "protocol_error");
  EXPECT_EQ(parsed.error().message, GetParam().message);
}

std::vector<Refusal> unknown_field_refusals() {
  std::vector<Refusal> cases;
  for (const auto& parser : kParsers) {
    const std::string op(parser.op);
    const std::string name = camel_case(op);
    cases.push_back(refusal(name + "_UnknownField", Json{{"op", op}, {"bogus.field-2", 1}},
                            "unknown field 'bogus.field-2' for op '" + op + "'"));
    cases.push_back(refusal(name + "_UnknownFieldWithSpace", Json{{"op", op}, {"bad key", true}},
                            "an unknown field for op '" + op + "'"));
    cases.push_back(refusal(name + "_UnknownFieldTooLongToQuote", Json{{"op", op}, {std::string(65, 'k'), 1}},
                            "an unknown field for op '" + op + "'"));
    cases.push_back(refusal(name + "_UnknownFieldWithQuote", Json{{"op", op}, {"it's", 1}},
                            "an unknown field for op '" + op + "'"));
  }
  return cases;
}
INSTANTIATE_TEST_SUITE_P(UnknownFields, Refusals, testing::ValuesIn(unknown_field_refusals()), refusal_name);

std::vector<Refusal> misspelt_field_refusals() {
  return {
      refusal("Register_Uid",
              Json{{"op", "register"}, {"name", "app"}, {"project_path", "/p"}, {"uid", Json::array({1000})}},
              "unknown field 'uid' for op 'register'"),
      refusal("Reload_Dryrun", Json{{"op", "reload"}, {"name", "app"}, {"dryrun", true}},
              "unknown field 'dryrun' for op 'reload'"),
      refusal("ClaimCreate_Ttl",
              Json{{"op", "claim-create"}, {"project", "app"}, {"value", "v"}, {"ttl", 60}},
              "unknown field 'ttl' for op 'claim-create'"),
      refusal("PushCreds_Ciphertext", Json{{"op", "push-creds"}, {"ciphertext", "YWJj"}},
              "unknown field 'ciphertext' for op 'push-creds'"),
      refusal("Get_NameOfAnotherOp", Json{{"op", "get"}, {"name", "A"}, {"token", kToken}},
              "unknown field 'token' for op 'get'"),
      refusal("Ping_FieldOfAnotherOp", Json{{"op", "ping"}, {"name", "A"}},
              "unknown field 'name' for op 'ping'"),
  };
}
INSTANTIATE_TEST_SUITE_P(MisspeltFields, Refusals, testing::ValuesIn(misspelt_field_refusals()),
                         refusal_name);

std::vector<Refusal> get_refusals() {
  const std::string bad = "field 'name' must be a secret name (^[A-Za-z0-9_]{1,128}$)";
  return {
      refusal("Get_NameMissing", Json{{"op", "get"}}, "missing field 'name'"),
      refusal("Get_NameNumber", Json{{"op", "get"}, {"name", 5}}, "field 'name' must be a string"),
      refusal("Get_NameNull", Json{{"op", "get"}, {"name", nullptr}}, "field 'name' must be a string"),
      refusal("Get_NameArray", Json{{"op", "get"}, {"name", Json::array({"A"})}},
              "field 'name' must be a string"),
      refusal("Get_NameNul", Json{{"op", "get"}, {"name", std::string("A\0B", 3)}},
              "field 'name' contains a NUL"),
      refusal("Get_NameEmpty", Json{{"op", "get"}, {"name", ""}}, bad),
      refusal("Get_NameDash", Json{{"op", "get"}, {"name", "API-KEY"}}, bad),
      refusal("Get_NameDot", Json{{"op", "get"}, {"name", "a.b"}}, bad),
      refusal("Get_NameSpace", Json{{"op", "get"}, {"name", "A B"}}, bad),
      refusal("Get_NameNonAscii", Json{{"op", "get"}, {"name", "clé"}}, bad),
      refusal("Get_NameTooLong", Json{{"op", "get"}, {"name", std::string(129, 'A')}}, bad),
  };
}
INSTANTIATE_TEST_SUITE_P(Get, Refusals, testing::ValuesIn(get_refusals()), refusal_name);

std::vector<Refusal> token_refusals() {
  std::vector<Refusal> cases;
  const std::string bad =
      "field 'token' is not a one-shot secret token (rbc_ and 43 URL-safe base64 characters)";
  for (const auto op_name : {op::kClaim, op::kDelete}) {
    const std::string op(op_name);
    const std::string name = camel_case(op);
    cases.push_back(refusal(name + "_TokenMissing", Json{{"op", op}}, "missing field 'token'"));
    cases.push_back(
        refusal(name + "_TokenNumber", Json{{"op", op}, {"token", 1}}, "field 'token' must be a string"));
    cases.push_back(
        refusal(name + "_TokenNull", Json{{"op", op}, {"token", nullptr}}, "field 'token' must be a string"));
    cases.push_back(refusal(name + "_TokenNul", Json{{"op", op}, {"token", kToken + std::string(1, '\0')}},
                            "field 'token' contains a NUL"));
    cases.push_back(refusal(name + "_TokenEmpty", Json{{"op", op}, {"token", ""}}, bad));
    cases.push_back(refusal(name + "_TokenShort", Json{{"op", op}, {"token", kToken.substr(0, 46)}}, bad));
    cases.push_back(refusal(name + "_TokenLong", Json{{"op", op}, {"token", kToken + "A"}}, bad));
    cases.push_back(
        refusal(name + "_TokenWrongPrefix", Json{{"op", op}, {"token", "rbx_" + kToken.substr(4)}}, bad));
    cases.push_back(
        refusal(name + "_TokenUppercasePrefix", Json{{"op", op}, {"token", "RBC_" + kToken.substr(4)}}, bad));
    cases.push_back(
        refusal(name + "_TokenStandardBase64", Json{{"op", op}, {"token", kToken.substr(0, 46) + "+"}}, bad));
    cases.push_back(
        refusal(name + "_TokenPadded", Json{{"op", op}, {"token", kToken.substr(0, 46) + "="}}, bad));
  }
  return cases;
}
INSTANTIATE_TEST_SUITE_P(Token, Refusals, testing::ValuesIn(token_refusals()), refusal_name);

std::vector<Refusal> push_creds_refusals() {
  const std::string bad = "field 'ciphertext_b64' is not valid base64";
  const auto push = [](const Json& ciphertext) {
    return Json{{"op", "push-creds"}, {"ciphertext_b64", ciphertext}};
  };
  return {
      refusal("PushCreds_CiphertextMissing", Json{{"op", "push-creds"}}, "missing field 'ciphertext_b64'"),
      refusal("PushCreds_CiphertextMissingWithSignature", Json{{"op", "push-creds"}, {"signature", "sig"}},
              "missing field 'ciphertext_b64'"),
      refusal("PushCreds_CiphertextNumber", push(5), "field 'ciphertext_b64' must be a string"),
      refusal("PushCreds_CiphertextNul", push(std::string("YWJj\0", 5)),
              "field 'ciphertext_b64' contains a NUL"),
      refusal("PushCreds_CiphertextBadCharacters", push("YW!j"), bad),
      refusal("PushCreds_CiphertextUrlSafeAlphabet", push("YW-_"), bad),
      refusal("PushCreds_CiphertextUnpadded", push("YWI"), bad),
      refusal("PushCreds_CiphertextExtraPadding", push("YWJj===="), bad),
      refusal("PushCreds_CiphertextNonCanonical", push("YWJ="), bad),
      refusal("PushCreds_CiphertextPaddingMidway", push("YQ==YWJj"), bad),
  };
}
INSTANTIATE_TEST_SUITE_P(PushCreds, Refusals, testing::ValuesIn(push_creds_refusals()), refusal_name);

std::vector<Refusal> secret_digests_refusals() {
  const std::string bad = "field 'key_b64' must be the base64 of 32 random bytes";
  const auto digests = [](const Json& key) { return Json{{"op", "secret-digests"}, {"key_b64", key}}; };
  std::string unpadded = base64_of(bytes_0_to(32));
  unpadded.pop_back();
  std::string wrapped = base64_of(bytes_0_to(32));
  wrapped.insert(20, "\n");
  return {
      refusal("SecretDigests_KeyMissing", Json{{"op", "secret-digests"}}, "missing field 'key_b64'"),
      refusal("SecretDigests_KeyNumber", digests(32), "field 'key_b64' must be a string"),
      refusal("SecretDigests_KeyNul", digests(std::string("AAAA\0", 5)), "field 'key_b64' contains a NUL"),
      refusal("SecretDigests_KeyEmpty", digests(""), bad),
      refusal("SecretDigests_Key31Bytes", digests(base64_of(bytes_0_to(31))), bad),
      refusal("SecretDigests_Key33Bytes", digests(base64_of(bytes_0_to(33))), bad),
      refusal("SecretDigests_KeyUnpadded", digests(unpadded), bad),
      refusal("SecretDigests_KeyWrapped", digests(wrapped), bad),
      refusal("SecretDigests_KeyNotBase64", digests(std::string(44, '*')), bad),
  };
}
INSTANTIATE_TEST_SUITE_P(SecretDigests, Refusals, testing::ValuesIn(secret_digests_refusals()), refusal_name);

Json register_body() { return Json{{"op", "register"}, {"name", "app"}, {"project_path", "/srv/app"}}; }
Json register_with(std::string_view key, const Json& value) {
  Json body = register_body();
  body[std::string(key)] = value;
  return body;
}
Json register_without(std::string_view key) {
  Json body = register_body();
  body.erase(std::string(key));
  return body;
}

std::vector<Refusal> register_refusals() {
  const std::string bad_name = "field 'name' must be a project name (^[a-z0-9][a-z0-9_-]{0,63}$)";
  const std::string bad_sha = "field 'expect_manifest_sha256' must be 64 lowercase hex digits";
  std::string upper_sha = kSha256;
  upper_sha[0] = 'A';
  return {
      refusal("Register_NameMissing", register_without("name"), "missing field 'name'"),
      refusal("Register_NameNumber", register_with("name", 1), "field 'name' must be a string"),
      refusal("Register_NameNul", register_with("name", std::string("app\0", 4)),
              "field 'name' contains a NUL"),
      refusal("Register_NameEmpty", register_with("name", ""), bad_name),
      refusal("Register_NameUppercase", register_with("name", "App"), bad_name),
      refusal("Register_NameLeadingDash", register_with("name", "-app"), bad_name),
      refusal("Register_NameLeadingUnderscore", register_with("name", "_app"), bad_name),
      refusal("Register_NameDot", register_with("name", "my.app"), bad_name),
      refusal("Register_NameSlash", register_with("name", "a/b"), bad_name),
      refusal("Register_NameTooLong", register_with("name", std::string(65, 'a')), bad_name),
      refusal("Register_PathMissing", register_without("project_path"), "missing field 'project_path'"),
      refusal("Register_PathNumber", register_with("project_path", 1),
              "field 'project_path' must be a string"),
      refusal("Register_PathNul", register_with("project_path", std::string("/srv/\0app", 9)),
              "field 'project_path' contains a NUL"),
      refusal("Register_PathEmpty", register_with("project_path", ""),
              "field 'project_path' must be an absolute path"),
      refusal("Register_PathRelative", register_with("project_path", "srv/app"),
              "field 'project_path' must be an absolute path"),
      refusal("Register_PathDotRelative", register_with("project_path", "./app"),
              "field 'project_path' must be an absolute path"),
      refusal("Register_PathHome", register_with("project_path", "~/app"),
              "field 'project_path' must be an absolute path"),
      refusal("Register_UidsEmpty", register_with("uids", Json::array()),
              "field 'uids' must list at least one uid (omit it to serve any uid)"),
      refusal("Register_UidsNotArray", register_with("uids", 1000),
              "field 'uids' must be an array of integers"),
      refusal("Register_UidsObject", register_with("uids", Json::object()),
              "field 'uids' must be an array of integers"),
      refusal("Register_UidsNegative", register_with("uids", Json::array({1000, -1})),
              "every entry of field 'uids' must be a non-negative integer"),
      refusal("Register_UidsFloat", register_with("uids", Json::array({1000.0})),
              "every entry of field 'uids' must be a non-negative integer"),
      refusal("Register_UidsString", register_with("uids", Json::array({"1000"})),
              "every entry of field 'uids' must be a non-negative integer"),
      refusal("Register_UidsNull", register_with("uids", nullptr),
              "field 'uids' must be an array of integers"),
      refusal("Register_UidsMinusOneAsUnsigned", register_with("uids", Json::array({4294967295U})),
              "every entry of field 'uids' is out of range"),
      refusal("Register_UidsAbove32Bits", register_with("uids", Json::array({std::uint64_t{1} << 40})),
              "every entry of field 'uids' is out of range"),
      refusal("Register_UidsTooMany", register_with("uids", Json(std::vector<int>(1025, 1000))),
              "field 'uids' has more than 1024 entries"),
      refusal("Register_GidNegative", register_with("gid", -1), "field 'gid' must be a non-negative integer"),
      refusal("Register_GidString", register_with("gid", "100"),
              "field 'gid' must be a non-negative integer"),
      refusal("Register_GidFloat", register_with("gid", 100.5), "field 'gid' must be a non-negative integer"),
      refusal("Register_GidList", register_with("gid", Json::array({100})),
              "field 'gid' must be a non-negative integer"),
      refusal("Register_GidMinusOneAsUnsigned", register_with("gid", 4294967295U),
              "field 'gid' is out of range"),
      refusal("Register_ExpectSha256Uppercase", register_with("expect_manifest_sha256", upper_sha), bad_sha),
      refusal("Register_ExpectSha256Short", register_with("expect_manifest_sha256", kSha256.substr(1)),
              bad_sha),
      refusal("Register_ExpectSha256Long", register_with("expect_manifest_sha256", kSha256 + "0"), bad_sha),
      refusal("Register_ExpectSha256NotHex", register_with("expect_manifest_sha256", std::string(64, 'g')),
              bad_sha),
      refusal("Register_ExpectSha256Empty", register_with("expect_manifest_sha256", ""), bad_sha),
      refusal("Register_ExpectSha256Number", register_with("expect_manifest_sha256", 1), bad_sha),
      refusal("Register_ExpectSha256Null", register_with("expect_manifest_sha256", nullptr), bad_sha),
  };
}
INSTANTIATE_TEST_SUITE_P(Register, Refusals, testing::ValuesIn(register_refusals()), refusal_name);

std::vector<Refusal> unregister_refusals() {
  return {
      refusal("Unregister_NameMissing", Json{{"op", "unregister"}}, "missing field 'name'"),
      refusal("Unregister_NameNumber", Json{{"op", "unregister"}, {"name", 1}},
              "field 'name' must be a string"),
      refusal("Unregister_NameUppercase", Json{{"op", "unregister"}, {"name", "App"}},
              "field 'name' must be a project name (^[a-z0-9][a-z0-9_-]{0,63}$)"),
  };
}
INSTANTIATE_TEST_SUITE_P(Unregister, Refusals, testing::ValuesIn(unregister_refusals()), refusal_name);

std::vector<Refusal> reload_refusals() {
  const auto reload = [](std::string_view key, const Json& value) {
    Json body{{"op", "reload"}, {"name", "app"}};
    body[std::string(key)] = value;
    return body;
  };
  const std::string dry_run = "field 'dry_run' must be true or false";
  std::string upper_sha = kSha256;
  upper_sha[63] = 'F';
  return {
      refusal("Reload_NameMissing", Json{{"op", "reload"}, {"dry_run", true}}, "missing field 'name'"),
      refusal("Reload_NameBad", Json{{"op", "reload"}, {"name", "a b"}},
              "field 'name' must be a project name (^[a-z0-9][a-z0-9_-]{0,63}$)"),
      refusal("Reload_DryRunString", reload("dry_run", "true"), dry_run),
      refusal("Reload_DryRunInteger", reload("dry_run", 1), dry_run),
      refusal("Reload_DryRunNull", reload("dry_run", nullptr), dry_run),
      refusal("Reload_ExpectSha256Uppercase", reload("expect_manifest_sha256", upper_sha),
              "field 'expect_manifest_sha256' must be 64 lowercase hex digits"),
      refusal("Reload_ExpectSha256Short", reload("expect_manifest_sha256", kSha256.substr(0, 32)),
              "field 'expect_manifest_sha256' must be 64 lowercase hex digits"),
  };
}
INSTANTIATE_TEST_SUITE_P(Reload, Refusals, testing::ValuesIn(reload_refusals()), refusal_name);

std::vector<Refusal> rotate_bootstrap_refusals() {
  const std::string bad_identity = "field 'identity' is not an age X25519 identity (AGE-SECRET-KEY-1...)";
  const std::string bad_recipient = "field 'recipient' is not an age X25519 recipient (age1...)";
  const std::string confirm_type = "field 'confirm' must be a boolean";
  const std::string op = "rotate-bootstrap";
  std::string wrong_checksum(kIdentity);
  wrong_checksum.back() = wrong_checksum.back() == 'Q' ? 'P' : 'Q';
  std::string wrong_recipient_checksum(kRecipient);
  wrong_recipient_checksum.back() = wrong_recipient_checksum.back() == 'q' ? 'p' : 'q';
  return {
      refusal("RotateBootstrap_ConfirmString",
              Json{{"op", op}, {"confirm", "true"}, {"recipient", kRecipient}}, confirm_type),
      refusal("RotateBootstrap_ConfirmInteger", Json{{"op", op}, {"confirm", 1}, {"recipient", kRecipient}},
              confirm_type),
      refusal("RotateBootstrap_ConfirmNull", Json{{"op", op}, {"confirm", nullptr}}, confirm_type),
      refusal("RotateBootstrap_ConfirmNotBoolWithIdentity",
              Json{{"op", op}, {"confirm", 0}, {"identity", kIdentity}}, confirm_type),
      refusal("RotateBootstrap_IdentityWithConfirm",
              Json{{"op", op}, {"confirm", true}, {"identity", kIdentity}, {"recipient", kRecipient}},
              "field 'identity' is not allowed with 'confirm'"),
      refusal("RotateBootstrap_ConfirmWithoutRecipient", Json{{"op", op}, {"confirm", true}},
              "missing field 'recipient'"),
      refusal("RotateBootstrap_ConfirmRecipientNumber", Json{{"op", op}, {"confirm", true}, {"recipient", 1}},
              "field 'recipient' must be a string"),
      refusal(
          "RotateBootstrap_ConfirmRecipientNul",
          Json{{"op", op}, {"confirm", true}, {"recipient", std::string(kRecipient) + std::string(1, '\0')}},
          "field 'recipient' contains a NUL"),
      refusal("RotateBootstrap_ConfirmRecipientMalformed",
              Json{{"op", op}, {"confirm", true}, {"recipient", "age1xyz"}}, bad_recipient),
      refusal("RotateBootstrap_ConfirmRecipientBadChecksum",
              Json{{"op", op}, {"confirm", true}, {"recipient", wrong_recipient_checksum}}, bad_recipient),
      refusal("RotateBootstrap_ConfirmRecipientIsAnIdentity",
              Json{{"op", op}, {"confirm", true}, {"recipient", kIdentity}}, bad_recipient),
      refusal("RotateBootstrap_ConfirmRecipientEmpty", Json{{"op", op}, {"confirm", true}, {"recipient", ""}},
              bad_recipient),
      refusal("RotateBootstrap_RecipientWithoutConfirm", Json{{"op", op}, {"recipient", kRecipient}},
              "field 'recipient' is only for 'confirm'"),
      refusal("RotateBootstrap_RecipientWithConfirmFalse",
              Json{{"op", op}, {"confirm", false}, {"recipient", kRecipient}},
              "field 'recipient' is only for 'confirm'"),
      refusal("RotateBootstrap_RecipientWithIdentity",
              Json{{"op", op}, {"identity", kIdentity}, {"recipient", kRecipient}},
              "field 'recipient' is only for 'confirm'"),
      refusal("RotateBootstrap_IdentityNumber", Json{{"op", op}, {"identity", 1}},
              "field 'identity' must be a string"),
      refusal("RotateBootstrap_IdentityNull", Json{{"op", op}, {"identity", nullptr}},
              "field 'identity' must be a string"),
      refusal("RotateBootstrap_IdentityNul",
              Json{{"op", op}, {"identity", std::string(kIdentity) + std::string(1, '\0')}},
              "field 'identity' contains a NUL"),
      refusal("RotateBootstrap_IdentityEmpty", Json{{"op", op}, {"identity", ""}}, bad_identity),
      refusal("RotateBootstrap_IdentityMalformed", Json{{"op", op}, {"identity", "AGE-SECRET-KEY-1XYZ"}},
              bad_identity),
      refusal("RotateBootstrap_IdentityBadChecksum", Json{{"op", op}, {"identity", wrong_checksum}},
              bad_identity),
      refusal("RotateBootstrap_IdentityIsARecipient", Json{{"op", op}, {"identity", kRecipient}},
              bad_identity),
      refusal(
          "RotateBootstrap_IdentityFile",
          Json{{"op", op}, {"identity", "# created: 2026-01-01T00:00:00Z\n" + std::string(kIdentity) + "\n"}},
          bad_identity),
  };
}
INSTANTIATE_TEST_SUITE_P(RotateBootstrap, Refusals, testing::ValuesIn(rotate_bootstrap_refusals()),
                         refusal_name);

Json claim_create_body() {
  return Json{{"op", "claim-create"}, {"project", "app"}, {"value", "v"}, {"ttl_seconds", 60}};
}
Json claim_create_with(std::string_view key, const Json& value) {
  Json body = claim_create_body();
  body[std::string(key)] = value;
  return body;
}
Json claim_create_without(std::string_view key) {
  Json body = claim_create_body();
  body.erase(std::string(key));
  return body;
}
Json claim_create_b64(const Json& value_b64) {
  Json body = claim_create_without("value");
  body["value_b64"] = value_b64;
  return body;
}

std::vector<Refusal> claim_create_refusals() {
  const std::string ttl_range = "field 'ttl_seconds' must be between 1 and 2592000";
  const std::string ttl_type = "field 'ttl_seconds' must be an integer between 1 and 2592000";
  const std::string bad_b64 = "field 'value_b64' is not valid base64 (standard alphabet, padded)";
  const std::string too_long = "a one-shot secret is limited to 65536 bytes";
  return {
      refusal("ClaimCreate_ProjectMissing", claim_create_without("project"), "missing field 'project'"),
      refusal("ClaimCreate_ProjectNumber", claim_create_with("project", 1),
              "field 'project' must be a string"),
      refusal("ClaimCreate_ProjectBad", claim_create_with("project", "My App"),
              "field 'project' must be a project name (^[a-z0-9][a-z0-9_-]{0,63}$)"),
      refusal("ClaimCreate_TtlMissing", claim_create_without("ttl_seconds"),
              "field 'ttl_seconds' is required"),
      refusal("ClaimCreate_TtlZero", claim_create_with("ttl_seconds", 0), ttl_range),
      refusal("ClaimCreate_TtlNegative", claim_create_with("ttl_seconds", -60), ttl_range),
      refusal("ClaimCreate_TtlMostNegative",
              claim_create_with("ttl_seconds", std::numeric_limits<std::int64_t>::min()), ttl_range),
      refusal("ClaimCreate_TtlOneAboveMax", claim_create_with("ttl_seconds", 2592001), ttl_range),
      refusal("ClaimCreate_TtlLargestUnsigned",
              claim_create_with("ttl_seconds", std::numeric_limits<std::uint64_t>::max()), ttl_range),
      refusal("ClaimCreate_TtlFloat", claim_create_with("ttl_seconds", 60.0), ttl_type),
      refusal("ClaimCreate_TtlFraction", claim_create_with("ttl_seconds", 60.5), ttl_type),
      refusal("ClaimCreate_TtlString", claim_create_with("ttl_seconds", "60"), ttl_type),
      refusal("ClaimCreate_TtlBoolean", claim_create_with("ttl_seconds", true), ttl_type),
      refusal("ClaimCreate_TtlNull", claim_create_with("ttl_seconds", nullptr), ttl_type),
      refusal("ClaimCreate_ValueAndValueB64", claim_create_with("value_b64", "dg=="),
              "give either field 'value' or field 'value_b64', not both"),
      refusal("ClaimCreate_ValueNorValueB64", claim_create_without("value"),
              "field 'value' or field 'value_b64' is required"),
      refusal("ClaimCreate_ValueEmpty", claim_create_with("value", ""), "a one-shot secret cannot be empty"),
      refusal("ClaimCreate_ValueB64Empty", claim_create_b64(""), "a one-shot secret cannot be empty"),
      refusal("ClaimCreate_ValueOver64KiB", claim_create_with("value", std::string(64 * 1024 + 1, 'v')),
              too_long),
      refusal("ClaimCreate_ValueOver64KiBInUtf8",
              claim_create_with("value", std::string(64 * 1024 - 1, 'v') + "é"), too_long),
      refusal("ClaimCreate_ValueB64Over64KiB", claim_create_b64(base64_of(std::string(64 * 1024 + 1, 'v'))),
              too_long),
      refusal("ClaimCreate_ValueNumber", claim_create_with("value", 7), "field 'value' must be a string"),
      refusal("ClaimCreate_ValueNull", claim_create_with("value", nullptr), "field 'value' must be a string"),
      refusal("ClaimCreate_ValueNul", claim_create_with("value", std::string("a\0b", 3)),
              "field 'value' contains a NUL"),
      refusal("ClaimCreate_ValueB64Number", claim_create_b64(7), "field 'value_b64' must be a string"),
      refusal("ClaimCreate_ValueB64Nul", claim_create_b64(std::string("dg==\0", 5)),
              "field 'value_b64' contains a NUL"),
      refusal("ClaimCreate_ValueB64BadCharacters", claim_create_b64("d*=="), bad_b64),
      refusal("ClaimCreate_ValueB64Unpadded", claim_create_b64("YWI"), bad_b64),
      refusal("ClaimCreate_ValueB64NonCanonical", claim_create_b64("YWJ="), bad_b64),
      refusal("ClaimCreate_ValueB64UrlSafe", claim_create_b64("-_8="), bad_b64),
      refusal("ClaimCreate_ValueB64Wrapped", claim_create_b64("YWJj\nZGVm"), bad_b64),
  };
}
INSTANTIATE_TEST_SUITE_P(ClaimCreate, Refusals, testing::ValuesIn(claim_create_refusals()), refusal_name);

std::vector<Refusal> claim_revoke_refusals() {
  const std::string bad = "field 'claim_id' is not a claim id (16 lowercase hex digits)";
  const auto revoke = [](const Json& id) { return Json{{"op", "claim-revoke"}, {"claim_id", id}}; };
  return {
      refusal("ClaimRevoke_ClaimIdMissing", Json{{"op", "claim-revoke"}}, "missing field 'claim_id'"),
      refusal("ClaimRevoke_ClaimIdNumber", revoke(123), "field 'claim_id' must be a string"),
      refusal("ClaimRevoke_ClaimIdNul", revoke(std::string("0123456789abcde\0", 16)),
              "field 'claim_id' contains a NUL"),
      refusal("ClaimRevoke_ClaimIdUppercase", revoke("0123456789ABCDEF"), bad),
      refusal("ClaimRevoke_ClaimIdShort", revoke("0123456789abcde"), bad),
      refusal("ClaimRevoke_ClaimIdLong", revoke("0123456789abcdef0"), bad),
      refusal("ClaimRevoke_ClaimIdNotHex", revoke("0123456789abcdeg"), bad),
      refusal("ClaimRevoke_ClaimIdEmpty", revoke(""), bad),
      refusal("ClaimRevoke_ClaimIdIsAToken", revoke(kToken), bad),
  };
}
INSTANTIATE_TEST_SUITE_P(ClaimRevoke, Refusals, testing::ValuesIn(claim_revoke_refusals()), refusal_name);

std::vector<Refusal> lock_refusals() {
  const std::string control = "field 'reason' must not contain control characters";
  const auto lock = [](const Json& reason) { return Json{{"op", "lock"}, {"reason", reason}}; };
  return {
      refusal("Lock_ReasonTooLong", lock(std::string(kMaxLockReasonLength + 1, 'r')),
              "field 'reason' is longer than 256 bytes"),
      refusal("Lock_ReasonTooLongInUtf8", lock(std::string(kMaxLockReasonLength - 1, 'r') + "é"),
              "field 'reason' is longer than 256 bytes"),
      refusal("Lock_ReasonNewline", lock("laptop\nstolen"), control),
      refusal("Lock_ReasonCarriageReturn", lock("laptop stolen\r"), control),
      refusal("Lock_ReasonTab", lock("\tlaptop stolen"), control),
      refusal("Lock_ReasonEscape", lock("\x1b[31mred"), control),
      refusal("Lock_ReasonDelete", lock("laptop\x7f"), control),
      refusal("Lock_ReasonUnitSeparator", lock("a\x1f"), control),
      refusal("Lock_ReasonNul", lock(std::string("a\0b", 3)), "field 'reason' contains a NUL"),
      refusal("Lock_ReasonNumber", lock(1), "field 'reason' must be a string"),
      refusal("Lock_ReasonNull", lock(nullptr), "field 'reason' must be a string"),
  };
}
INSTANTIATE_TEST_SUITE_P(Lock, Refusals, testing::ValuesIn(lock_refusals()), refusal_name);

// ---------------------------------------------------------------------------------------------------------
// A secret in a malformed request never reaches the message.

class CanaryRefusals : public testing::TestWithParam<Refusal> {};

TEST_P(CanaryRefusals, NeverQuoteTheSecret) {
  const Request request = envelope(GetParam().line);
  const auto parsed = parse_typed(request);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code, "protocol_error");
  EXPECT_EQ(parsed.error().message, GetParam().message);
  for (const std::string_view part : {kCanary, std::string_view("CANARY"), std::string_view("7f3a9")}) {
    EXPECT_EQ(parsed.error().message.find(part), std::string::npos) << parsed.error().message;
  }
}

std::vector<Refusal> canary_refusals() {
  const std::string canary(kCanary);
  const std::string token_shaped = "rbc_" + canary + std::string(43 - canary.size(), 'A');  // '-' fits
  const std::string bad_token =
      "field 'token' is not a one-shot secret token (rbc_ and 43 URL-safe base64 characters)";
  return {
      refusal("Claim_CanaryToken", Json{{"op", "claim"}, {"token", canary}}, bad_token),
      refusal("Claim_CanaryTokenWithSpace", Json{{"op", "claim"}, {"token", "rbc_" + canary + " x"}},
              bad_token),
      refusal("Claim_CanaryTokenNul", Json{{"op", "claim"}, {"token", canary + std::string(1, '\0')}},
              "field 'token' contains a NUL"),
      refusal("Claim_CanaryTokenUnknownField", Json{{"op", "claim"}, {"token", token_shaped}, {"x y", 1}},
              "an unknown field for op 'claim'"),
      refusal("Delete_CanaryTokenTooLong", Json{{"op", "delete"}, {"token", token_shaped + canary}},
              bad_token),
      refusal("ClaimCreate_CanaryValueNul", claim_create_with("value", canary + std::string(1, '\0')),
              "field 'value' contains a NUL"),
      refusal("ClaimCreate_CanaryValueB64", claim_create_b64(canary),
              "field 'value_b64' is not valid base64 (standard alphabet, padded)"),
      refusal("ClaimCreate_CanaryValueB64Wrapped", claim_create_b64(base64_of(canary) + "\n"),
              "field 'value_b64' is not valid base64 (standard alphabet, padded)"),
      refusal("ClaimCreate_CanaryValueAndValueB64",
              with(claim_create_with("value", canary), "value_b64", base64_of(canary)),
              "give either field 'value' or field 'value_b64', not both"),
      refusal("ClaimCreate_CanaryValueTooLong",
              claim_create_with("value", canary + std::string(64 * 1024, 'v')),
              "a one-shot secret is limited to 65536 bytes"),
      refusal("ClaimCreate_CanaryValueBadTtl", with(claim_create_with("value", canary), "ttl_seconds", 0),
              "field 'ttl_seconds' must be between 1 and 2592000"),
      refusal("ClaimCreate_CanaryValueBadProject",
              with(claim_create_with("value", canary), "project", "Bad Project"),
              "field 'project' must be a project name (^[a-z0-9][a-z0-9_-]{0,63}$)"),
      refusal("ClaimCreate_CanaryValueUnknownField", with(claim_create_with("value", canary), "x y", canary),
              "an unknown field for op 'claim-create'"),
      refusal("RotateBootstrap_CanaryIdentity",
              Json{{"op", "rotate-bootstrap"}, {"identity", "AGE-SECRET-KEY-1" + canary}},
              "field 'identity' is not an age X25519 identity (AGE-SECRET-KEY-1...)"),
      refusal(
          "RotateBootstrap_CanaryIdentityWithConfirm",
          Json{
              {"op", "rotate-bootstrap"}, {"confirm", true}, {"identity", canary}, {"recipient", kRecipient}},
          "field 'identity' is not allowed with 'confirm'"),
      refusal("RotateBootstrap_CanaryIdentityNul",
              Json{{"op", "rotate-bootstrap"}, {"identity", canary + std::string(1, '\0')}},
              "field 'identity' contains a NUL"),
      refusal("RotateBootstrap_CanaryRecipient",
              Json{{"op", "rotate-bootstrap"}, {"confirm", true}, {"recipient", "age1" + canary}},
              "field 'recipient' is not an age X25519 recipient (age1...)"),
      refusal("SecretDigests_CanaryKey", Json{{"op", "secret-digests"}, {"key_b64", canary}},
              "field 'key_b64' must be the base64 of 32 random bytes"),
      refusal("SecretDigests_CanaryKeyShortBase64",
              Json{{"op", "secret-digests"}, {"key_b64", base64_of(canary)}},
              "field 'key_b64' must be the base64 of 32 random bytes"),
      refusal("PushCreds_CanaryCiphertext", Json{{"op", "push-creds"}, {"ciphertext_b64", canary}},
              "field 'ciphertext_b64' is not valid base64"),
      refusal("Get_CanaryName", Json{{"op", "get"}, {"name", canary}},
              "field 'name' must be a secret name (^[A-Za-z0-9_]{1,128}$)"),
      refusal("ClaimRevoke_CanaryClaimId", Json{{"op", "claim-revoke"}, {"claim_id", canary}},
              "field 'claim_id' is not a claim id (16 lowercase hex digits)"),
      refusal("Lock_CanaryReason", Json{{"op", "lock"}, {"reason", canary + "\n"}},
              "field 'reason' must not contain control characters"),
      refusal("Register_CanaryExpectSha256", register_with("expect_manifest_sha256", canary),
              "field 'expect_manifest_sha256' must be 64 lowercase hex digits"),
      refusal("Register_CanaryPath", register_with("project_path", canary),
              "field 'project_path' must be an absolute path"),
      refusal("Ping_CanaryInAnUnquotableFieldName", Json{{"op", "ping"}, {canary + " !", 1}},
              "an unknown field for op 'ping'"),
  };
}
INSTANTIATE_TEST_SUITE_P(Canary, CanaryRefusals, testing::ValuesIn(canary_refusals()), refusal_name);

// ---------------------------------------------------------------------------------------------------------
// Secrets and control characters in refused requests.

// The identity's text is wiped from the envelope however the parse ends, also when the request is refused
// before the identity is read (an unknown field, a bad confirm, confirm with identity, a recipient without
// confirm, a NUL).
TEST(RotateBootstrapRequestParse, AnIdentityInARefusedRequestIsWiped) {
  const std::string identity(kIdentity);
  for (const Json& body : {
           Json{{"op", "rotate-bootstrap"}, {"identity", identity}, {"bogus", 1}},
           Json{{"op", "rotate-bootstrap"}, {"identity", identity}, {"confirm", "yes"}},
           Json{{"op", "rotate-bootstrap"},
                {"identity", identity},
                {"confirm", true},
                {"recipient", kRecipient}},
           Json{{"op", "rotate-bootstrap"}, {"identity", identity}, {"recipient", kRecipient}},
           Json{{"op", "rotate-bootstrap"}, {"identity", identity + std::string(1, '\0')}},
       }) {
    Request request = envelope(body);
    ASSERT_FALSE(RotateBootstrapRequest::parse(request).ok());
    EXPECT_TRUE(all_zero(request.body.at("identity").get_ref<const std::string&>()))
        << "identity left in the envelope after: " << RotateBootstrapRequest::parse(request).error().message;
  }
}

// The lock reason has no control characters: C0, DEL and the C1 controls (U+0080..U+009F, e.g. NEL U+0085,
// CSI U+009B, which a terminal showing status or the logs would obey).
TEST(LockRequestParse, ReasonWithC1ControlCharacterIsRefused) {
  for (const std::string& reason : {std::string("laptop\u0085stolen"), std::string("\u009b31mred")}) {
    const Request request = envelope(Json{{"op", "lock"}, {"reason", reason}});
    const auto typed = LockRequest::parse(request);
    ASSERT_FALSE(typed.ok());
    EXPECT_EQ(typed.error().message, "field 'reason' must not contain control characters");
  }
}

}  // namespace
}  // namespace remo::protocol
