#include "broker/cli/secure_request.hpp"

#include <gtest/gtest.h>

#include <string>

#include "protocol/ops.hpp"

namespace remo::cli {
namespace {

std::span<const std::uint8_t> bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};  // NOLINT: byte view
}

namespace field = protocol::field;
namespace op = protocol::op;

TEST(RequestWithSecret, AppendsTheSecretAsTheLastMemberOfOneLine) {
  const Json plain{{field::kOp, op::kClaim}};
  const auto request = request_with_secret(plain, field::kToken, bytes("tok-123"));
  EXPECT_EQ(request.view(), "{\"op\":\"claim\",\"token\":\"tok-123\"}\n");
  const auto parsed = Json::parse(request.view());
  EXPECT_EQ(parsed[field::kToken], "tok-123");
}

TEST(RequestWithSecret, EscapesQuotesBackslashesAndControlBytes) {
  const Json plain{{field::kOp, op::kClaimCreate}, {field::kProject, "p"}, {field::kTtlSeconds, 60}};
  const std::string secret("a\"b\\c\n\x01\x7f\xC3\xA9", 10);
  const auto request = request_with_secret(plain, field::kValue, bytes(secret));
  EXPECT_EQ(request.view(),
            "{\"op\":\"claim-create\",\"project\":\"p\",\"ttl_seconds\":60,"
            "\"value\":\"a\\\"b\\\\c\\u000a\\u0001\x7f\xC3\xA9\"}\n");
  EXPECT_EQ(Json::parse(request.view())[field::kValue], secret);
}

TEST(RequestWithSecret, AnEmptyObjectGetsNoLeadingComma) {
  EXPECT_EQ(request_with_secret(Json::object(), "k", bytes("v")).view(), "{\"k\":\"v\"}\n");
}

TEST(Base64Secure, IsPaddedStandardBase64) {
  EXPECT_EQ(base64_secure(bytes(std::string_view("\x00\xff\n", 3))).view(), "AP8K");
  EXPECT_EQ(base64_secure(bytes("ab")).view(), "YWI=");
  EXPECT_EQ(base64_secure(bytes("")).view(), "");
}

}  // namespace
}  // namespace remo::cli
