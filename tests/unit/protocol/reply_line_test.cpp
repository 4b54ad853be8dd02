#include "protocol/reply_line.hpp"

#include <gtest/gtest.h>

namespace remo::protocol {
namespace {

TEST(ErrorLine, WritesTheBytesOfAHandlersReplyWithoutAnId) {
  EXPECT_EQ(
      error_line("rate_limited", "too many connections on this socket; retry later", 1),
      R"({"ok":false,"code":"rate_limited","message":"too many connections on this socket; retry later",)"
      R"("retry_after_seconds":1})"
      "\n");
  EXPECT_EQ(error_line("protocol_error", "a \"quoted\"\nline"),
            R"({"ok":false,"code":"protocol_error","message":"a \"quoted\"\nline"})"
            "\n");
}

}  // namespace
}  // namespace remo::protocol
