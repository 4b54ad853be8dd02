#include "protocol/utf8.hpp"

#include <gtest/gtest.h>

#include <string>

namespace remo::protocol {
namespace {

TEST(Utf8, AcceptsAsciiAndEveryEncodingLength) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("GITHUB_TOKEN"));
  EXPECT_TRUE(is_valid_utf8("caf\xC3\xA9"));           // U+00E9
  EXPECT_TRUE(is_valid_utf8("\xE2\x82\xAC"));          // U+20AC
  EXPECT_TRUE(is_valid_utf8("\xF0\x9F\x94\x91"));      // U+1F511
  EXPECT_TRUE(is_valid_utf8("\xF4\x8F\xBF\xBF"));      // U+10FFFF, the last code point
  EXPECT_TRUE(is_valid_utf8(std::string("a\0b", 3)));  // NUL is valid UTF-8; the request parser rejects it
}

TEST(Utf8, RejectsWhatRfc3629Forbids) {
  EXPECT_FALSE(is_valid_utf8("\xff\xfe"));              // never valid bytes
  EXPECT_FALSE(is_valid_utf8("\x80"));                  // a lone continuation byte
  EXPECT_FALSE(is_valid_utf8("\xC3"));                  // truncated
  EXPECT_FALSE(is_valid_utf8("\xE2\x82"));              // truncated
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));              // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xE0\x80\xAF"));          // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));          // U+D800, a surrogate
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));      // U+110000
  EXPECT_FALSE(is_valid_utf8("\xF8\x88\x80\x80\x80"));  // five-byte form
  EXPECT_FALSE(is_valid_utf8("ok\xC3("));               // a bad continuation byte
}

}  // namespace
}  // namespace remo::protocol
