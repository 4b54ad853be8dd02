// The CLI's reading of broker replies: the JSON envelope (broker_client), the exit status each failure
// maps to (cli_output, exit_codes), and the secrets taken out of reply lines (reply_secret).
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "broker/cli/broker_client.hpp"
#include "broker/cli/cli_output.hpp"
#include "broker/cli/exit_codes.hpp"
#include "broker/cli/reply_secret.hpp"
#include "protocol/codes.hpp"

namespace remo::cli {
namespace {

constexpr std::string_view kCanary = "CANARY-s3cr3t-9d41";

crypto::SecureBuffer line_of(std::string_view text) { return crypto::SecureBuffer::copy_of(text); }

std::string text_of(const crypto::SecureBuffer& buffer) { return std::string(buffer.view()); }

TEST(ParseReply, AnOkReplyIsReturnedWhole) {
  auto reply = parse_ok_reply(R"({"ok":true,"recipient":"age1x","id":3})");
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->value("recipient", std::string()), "age1x");
  EXPECT_EQ((*reply)["id"], 3);
}

TEST(ParseReply, AFailureReplyIsParsedButNotOk) {
  auto reply = parse_reply(R"({"ok":false,"code":"not_found","message":"no such secret"})");
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ((*reply)["ok"], false);
}

TEST(ParseReply, AFailureReplyBecomesItsCodeAndExitStatus) {
  auto reply = parse_ok_reply(R"({"ok":false,"code":"not_found","message":"no secret X"})");
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().code, protocol::code::kNotFound);
  EXPECT_EQ(reply.error().message, "no secret X");
  EXPECT_EQ(exit_status_for(reply.error()), 11);
}

TEST(ParseReply, RateLimitedCarriesItsRetryDelay) {
  auto reply =
      parse_ok_reply(R"({"ok":false,"code":"rate_limited","message":"slow down","retry_after_seconds":2})");
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().message, "slow down (retry after 2 s)");
  EXPECT_EQ(exit_status_for(reply.error()), 12);
}

TEST(ParseReply, AFailureWithoutCodeOrMessageStillSaysSomething) {
  auto reply = parse_ok_reply(R"({"ok":false})");
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().code, kUnknownBrokerCode);
  EXPECT_EQ(reply.error().message, "unknown: (the broker gave no message)");
  EXPECT_EQ(exit_status_for(reply.error()), exit_code::kUnknownBrokerCode);
}

TEST(ParseReply, AnUnknownCodeIsStatus25AndKeepsTheBrokersWord) {
  auto reply = parse_ok_reply(R"({"ok":false,"code":"brand_new","message":"a newer broker"})");
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().code, kUnknownBrokerCode);
  EXPECT_EQ(reply.error().message, "brand_new: a newer broker");
  EXPECT_EQ(exit_status_for(reply.error()), 25);
}

TEST(ParseReply, MalformedRepliesAreStatus5) {
  for (const std::string_view line :
       {"", "not json", "[1,2]", "\"ok\"", "{}", R"({"ok":"yes"})", R"({"ok":1})", R"({"ok":true)", "null"}) {
    auto reply = parse_ok_reply(line);
    ASSERT_FALSE(reply.ok()) << line;
    EXPECT_EQ(reply.error().code, kMalformedReply) << line;
    EXPECT_EQ(exit_status_for(reply.error()), exit_code::kMalformedReply) << line;
  }
}

TEST(ParseReply, AMalformedReplyIsNotQuotedInTheError) {
  const std::string line = "{\"ok\":true,\"value\":\"" + std::string(kCanary);  // cut short
  auto reply = parse_reply(line);
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().message.find(kCanary), std::string::npos);
}

// Every broker code of protocol/codes.hpp has its own status, 10..24 in the protocol's order.
struct CodeStatus {
  std::string_view code;
  int status;
};

class BrokerCodeStatus : public ::testing::TestWithParam<CodeStatus> {};

TEST_P(BrokerCodeStatus, ReplyWithThisCodeExitsWithItsStatus) {
  const std::string line = R"({"ok":false,"code":")" + std::string(GetParam().code) + R"(","message":"m"})";
  auto reply = parse_ok_reply(line);
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().code, GetParam().code);
  EXPECT_EQ(exit_status_for(reply.error()), GetParam().status);
  EXPECT_EQ(exit_code::for_broker_code(GetParam().code), GetParam().status);
  EXPECT_TRUE(exit_code::is_known(GetParam().status));
}

namespace code = protocol::code;
INSTANTIATE_TEST_SUITE_P(
    EveryCode, BrokerCodeStatus,
    ::testing::Values(CodeStatus{code::kDenied, 10}, CodeStatus{code::kNotFound, 11},
                      CodeStatus{code::kRateLimited, 12}, CodeStatus{code::kLocked, 13},
                      CodeStatus{code::kProtocolError, 14}, CodeStatus{code::kPeerUnexpected, 15},
                      CodeStatus{code::kInternalError, 16}, CodeStatus{code::kDecryptFailed, 17},
                      CodeStatus{code::kInvalidPayload, 18}, CodeStatus{code::kManifestInvalid, 19},
                      CodeStatus{code::kManifestNotFound, 20}, CodeStatus{code::kProjectUnknown, 21},
                      CodeStatus{code::kProjectExists, 22}, CodeStatus{code::kBootstrapError, 23},
                      CodeStatus{code::kSignatureInvalid, 24}),
    [](const ::testing::TestParamInfo<CodeStatus>& param_info) {
      return std::string(param_info.param.code);
    });

TEST(ExitStatus, LocalFailuresHaveTheirOwnStatuses) {
  EXPECT_EQ(exit_status_for(make_error("usage", "")), 2);
  EXPECT_EQ(exit_status_for(make_error(std::string(kBrokerNotRunning), "")), 3);
  EXPECT_EQ(exit_status_for(make_error(std::string(kSocketPermission), "")), 4);
  EXPECT_EQ(exit_status_for(make_error(std::string(kMalformedReply), "")), 5);
  EXPECT_EQ(exit_status_for(make_error("ssh_unreachable", "")), 6);
  EXPECT_EQ(exit_status_for(make_error("host_key", "")), 7);
  EXPECT_EQ(exit_status_for(make_error("recipient_changed", "")), 8);
  EXPECT_EQ(exit_status_for(make_error("remote_command_failed", "")), 9);
  EXPECT_EQ(exit_status_for(make_error("io", "")), 1);
  EXPECT_FALSE(exit_code::is_known(26));
  EXPECT_FALSE(exit_code::is_known(127));
}

TEST(TakeJsonString, MovesTheValueOutAndBlanksItInTheLine) {
  auto line = line_of(R"({"ok":true,"value":")" + std::string(kCanary) + R"(","id":1})");
  auto value = take_json_string(line, "value");
  ASSERT_TRUE(value.ok());
  ASSERT_TRUE(value->has_value());
  EXPECT_EQ((**value).view(), kCanary);
  EXPECT_EQ(text_of(line).find(kCanary), std::string::npos);
  auto rest = parse_ok_reply(line.view());  // the line is still JSON
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ((*rest)["id"], 1);
}

TEST(TakeJsonString, AMissingMemberIsNothing) {
  auto line = line_of(R"({"ok":false,"code":"denied","message":"no"})");
  auto value = take_json_string(line, "value");
  ASSERT_TRUE(value.ok());
  EXPECT_FALSE(value->has_value());
  EXPECT_EQ(text_of(line), R"({"ok":false,"code":"denied","message":"no"})");
}

TEST(TakeJsonString, DecodesEveryJsonEscape) {
  auto line = line_of(R"({"value":"a\"b\\c\/d\b\f\n\r\t\u00e9\u20ac\ud83d\ude00"})");
  auto value = take_json_string(line, "value");
  ASSERT_TRUE(value.ok());
  ASSERT_TRUE(value->has_value());
  EXPECT_EQ((**value).view(), "a\"b\\c/d\b\f\n\r\t\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
}

TEST(TakeJsonString, MalformedStringsAreMalformedRepliesThatDoNotQuoteTheValue) {
  const std::string canary(kCanary);
  for (const std::string& bad : {canary + "\\x\"}", canary + "\\u12\"}", canary + "\\ud83d\"}",
                                 canary + "\\ude00\"}", canary + "\n\"}", canary, canary + "\\"}) {
    auto line = line_of(R"({"ok":true,"value":")" + bad);
    auto value = take_json_string(line, "value");
    ASSERT_FALSE(value.ok()) << bad;
    EXPECT_EQ(value.error().code, kMalformedReply) << bad;
    EXPECT_EQ(value.error().message.find(kCanary), std::string::npos) << bad;
  }
}

TEST(TakeSecretValue, ReadsTextOrBase64) {
  auto text = line_of(R"({"ok":true,"value":"plain"})");
  auto value = take_secret_value(text);
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(value->view(), "plain");

  auto encoded = line_of(R"({"ok":true,"value_b64":"AP8K"})");
  auto bytes = take_secret_value(encoded);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(bytes->view(), std::string_view("\x00\xff\n", 3));
  EXPECT_EQ(text_of(encoded).find("AP8K"), std::string::npos);
}

TEST(TakeSecretValue, NeitherMemberOrBadBase64IsMalformed) {
  auto none = line_of(R"({"ok":true})");
  auto missing = take_secret_value(none);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, kMalformedReply);

  auto bad = line_of(R"({"ok":true,"value_b64":"!!)" + std::string(kCanary) + R"("})");
  auto value = take_secret_value(bad);
  ASSERT_FALSE(value.ok());
  EXPECT_EQ(value.error().code, kMalformedReply);
  EXPECT_EQ(value.error().message.find(kCanary), std::string::npos);
}

}  // namespace
}  // namespace remo::cli
