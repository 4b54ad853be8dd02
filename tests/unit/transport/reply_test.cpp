#include "broker/transport/reply.hpp"

#include <gtest/gtest.h>

#include <string>

#include "broker/crypto/secure_buffer.hpp"

namespace remo::server {
namespace {

core::SecretValue text_value(std::string_view text) { return {crypto::SecureBuffer::copy_of(text), false}; }

std::string as_string(const ReplyBuffer& out) { return std::string(out.data(), out.size()); }

TEST(Reply, OkRepliesPutOkAndIdFirstAndEndTheLine) {
  ReplyBuffer out;
  append_ok(out, Json(7), Json{{"socket_path", "/run/x.sock"}});
  append_ok(out, Json(nullptr));
  EXPECT_EQ(as_string(out), "{\"ok\":true,\"id\":7,\"socket_path\":\"/run/x.sock\"}\n{\"ok\":true}\n");
}

TEST(Reply, ErrorRepliesCarryCodeAndMessage) {
  ReplyBuffer out;
  append_error(out, Json("a"), "denied", "secret X is not in the allowlist of project p");
  EXPECT_EQ(as_string(out),
            "{\"ok\":false,\"id\":\"a\",\"code\":\"denied\",\"message\":\"secret X is not in the allowlist "
            "of project "
            "p\"}\n");
}

TEST(Reply, MessagesThatAreNotUtf8AreRepairedNotThrown) {
  ReplyBuffer out;
  append_error(out, Json(nullptr), "manifest_invalid", "/p/\xff: bad");
  EXPECT_TRUE(Json::parse(std::string(out.data(), out.size() - 1))["message"].is_string());
}

TEST(SecretReply, TextValuesAreEscapedAsJsonStrings) {
  const std::string tricky = "q\"b\\s/\n\r\t\x01\x1f caf\xC3\xA9 \xF0\x9F\x94\x91";
  ReplyBuffer out;
  ASSERT_TRUE(append_secret_value(out, Json(3), "X", text_value(tricky), 300).ok());
  ASSERT_EQ(out.back(), '\n');
  const Json reply = Json::parse(std::string(out.data(), out.size() - 1));
  EXPECT_EQ(reply["ok"], true);
  EXPECT_EQ(reply["id"], 3);
  EXPECT_EQ(reply["value"], tricky);
  EXPECT_EQ(reply["ttl_seconds"], 300);
  EXPECT_FALSE(reply.contains("value_b64"));
}

TEST(SecretReply, Base64ValuesComeBackAsValueB64) {
  const std::uint8_t bytes[] = {0x00, 0x01, 0x02, 0xff};
  ReplyBuffer out;
  ASSERT_TRUE(
      append_secret_value(out, Json(nullptr), "B", {crypto::SecureBuffer::copy_of(bytes), true}, 60).ok());
  EXPECT_EQ(std::string(out.data(), out.size()),
            "{\"ok\":true,\"value_b64\":\"AAEC/w==\",\"ttl_seconds\":60}\n");
}

TEST(SecretReply, EmptyValuesAreServed) {
  ReplyBuffer out;
  ASSERT_TRUE(append_secret_value(out, Json(nullptr), "E", text_value(""), 300).ok());
  EXPECT_EQ(std::string(out.data(), out.size()), "{\"ok\":true,\"value\":\"\",\"ttl_seconds\":300}\n");
}

TEST(SecretReply, ATextValueThatIsNotUtf8IsAnInternalErrorWithoutTheValue) {
  ReplyBuffer out = "previous\n";
  const auto written = append_secret_value(out, Json(nullptr), "BAD", text_value("CANARY\xff"), 300);
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().code, "internal_error");
  EXPECT_EQ(written.error().message.find("CANARY"), std::string::npos);
  EXPECT_EQ(std::string(out.data(), out.size()), "previous\n");
}

TEST(ReplyBuffer, WipeZeroesTheBytesAndKeepsTheCapacity) {
  ReplyBuffer out;
  out.reserve(256);
  out.append("{\"value\":\"CANARY-secret-value\"}\n");
  const char* data = out.data();
  const std::size_t size = out.size();
  const std::size_t capacity = out.capacity();
  wipe(out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(out.capacity(), capacity);
  for (std::size_t i = 0; i < size; ++i) EXPECT_EQ(data[i], '\0') << i;  // same block, still ours
}

}  // namespace
}  // namespace remo::server
