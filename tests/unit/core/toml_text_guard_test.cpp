#include "broker/core/toml_text_guard.hpp"

#include <gtest/gtest.h>

#include <string>

#include "broker/core/manifest.hpp"
#include "broker/core/secret_set.hpp"

namespace remo::core {
namespace {

std::optional<std::size_t> refused_at(std::string_view text) {
  const auto unsafe = find_unsafe_toml_text(text);
  if (!unsafe) return std::nullopt;
  return unsafe->offset;
}

// "s" then U+FEFD: one of the code points that sends toml++ 3.3's whitespace test into
// __builtin_unreachable, here right after a bare key.
constexpr std::string_view kBareKeyThenFefd = "s\xEF\xBB\xBD";

TEST(TomlTextGuard, BareKeyFollowedByNonAsciiIsRefusedAtItsOffset) {
  EXPECT_EQ(refused_at(kBareKeyThenFefd), 1u);
  EXPECT_EQ(refused_at("a = 1\nb\xC3\xA9 = 2\n"), 7u);
}

TEST(TomlTextGuard, NonAsciiBetweenTokensIsRefused) {
  EXPECT_EQ(refused_at("a = 1\xC3\xA9\n"), 5u);
  EXPECT_EQ(refused_at("a =\xC2\xA0\"x\"\n"), 3u);  // no-break space
  EXPECT_EQ(refused_at("[t\xE3\x80\x80]\n"), 2u);   // ideographic space
}

TEST(TomlTextGuard, NonAsciiInStringsAndCommentsIsAccepted) {
  EXPECT_EQ(refused_at("a = \"h\xC3\xA9llo\" # caf\xC3\xA9\n"), std::nullopt);
  EXPECT_EQ(refused_at("a = 'h\xC3\xA9llo'\nb = '''\n\xC3\xA9\n'''\n"), std::nullopt);
  EXPECT_EQ(refused_at("\"k\xC3\xA9y\" = \"\"\"\n\xEF\xBB\xBD\n\"\"\"\n"), std::nullopt);
  EXPECT_EQ(refused_at("a = \"\\\xC3\xA9\"\n"), std::nullopt);  // toml++ reports the bad escape itself
}

TEST(TomlTextGuard, QuoteInsideABareValueOpensNoString) {
  // toml++ scans a number, date or boolean up to a value terminator, quotes included.
  EXPECT_EQ(refused_at("a = 0\"\xC3\xB9\"\n"), 6u);
  EXPECT_EQ(refused_at("a = { b =0\"AA\xC3\xB9\" }\n"), 13u);
  EXPECT_EQ(refused_at("a = 1979-05-27 0\"\xC3\xA9\"\n"), 17u);  // a date-time with a space
  EXPECT_EQ(refused_at("a = [1, 2\"\xC3\xA9\"]\n"), 10u);
}

TEST(TomlTextGuard, CharacterAfterADateTimeSpaceDigitBelongsToTheValueEvenIfItEndsValues) {
  // toml++ takes the character after "date space digit" into the value unconditionally, so its scan runs
  // on past a closing bracket and a quote: the U+FEFD here is not in a string for it.
  EXPECT_EQ(refused_at("a = 1979-05-27 0]'\xEF\xBB\xBD'\n"), 18u);
  EXPECT_EQ(refused_at("a = 1979-05-27 0\xC3\xA9\n"), 16u);
  EXPECT_EQ(refused_at("a = 1979-05-27 07:32:00\nb = 'caf\xC3\xA9'\n"), std::nullopt);
}

TEST(TomlTextGuard, ControlCharactersAreRefusedEverywhere) {
  EXPECT_EQ(refused_at(std::string_view("a = 1\0\n", 7)), 5u);
  EXPECT_EQ(refused_at("a = \"x\x01\"\n"), 6u);
  EXPECT_EQ(refused_at("# \x7F\n"), 2u);
  EXPECT_EQ(refused_at("a = 1\rb = 2\n"), 5u);  // a lone carriage return
  EXPECT_EQ(refused_at("a = 1\r\nb = \"\t\"\n"), std::nullopt);
}

TEST(TomlTextGuard, QuoteWhereAKeyOrValueStartsOpensAString) {
  EXPECT_EQ(refused_at("a=\"\xC3\xA9\"\nb.\"\xC3\xA9\"=1\n"), std::nullopt);
  EXPECT_EQ(refused_at("a = [1, \"\xC3\xA9\", [\"\xC3\xA9\"]]\nt = { k = '\xC3\xA9', l = [\"\xC3\xA9\"] }\n"),
            std::nullopt);
  EXPECT_EQ(refused_at("[\"\xC3\xA9\"]\nx = [\n  1,\n  \"\xC3\xA9\",\n]\n"), std::nullopt);
}

TEST(TomlTextGuard, LeadingByteOrderMarkIsAccepted) {
  EXPECT_EQ(refused_at("\xEF\xBB\xBF"
                       "a = 1\n"),
            std::nullopt);
  EXPECT_EQ(refused_at("a = 1\n\xEF\xBB\xBF"), 6u);
}

TEST(TomlTextGuard, NonAsciiAfterBackslashInMultiLineBasicStringIsRefused) {
  EXPECT_EQ(refused_at("a = \"\"\"\\\xC3\xA9\"\"\"\n"), 8u);
  EXPECT_EQ(refused_at("a = \"\"\"x\\\n\n   \xC3\xA9\"\"\"\n"), 14u);
  EXPECT_EQ(refused_at("a = \"\"\"\\ \t\xC3\xA9\"\"\"\n"), 10u);
  // Not after a backslash, or after an escaped backslash: content like any other.
  EXPECT_EQ(refused_at("a = \"\"\"x\\\\\xC3\xA9\"\"\"\n"), std::nullopt);
  EXPECT_EQ(refused_at("a = \"\"\"\\\n   x\xC3\xA9\"\"\"\n"), std::nullopt);
}

TEST(TomlTextGuard, StringEndsWhereTomlSaysSoWhatFollowsIsChecked) {
  EXPECT_EQ(refused_at("a = \"\\\"\"\xC3\xA9\n"), 8u);             // "\"" then é
  EXPECT_EQ(refused_at("a = \"\"\"x\"\"\"\"\" \xC3\xA9\n"), 14u);  // two quotes of content, then é
  EXPECT_EQ(refused_at("a = \"\"\"x\\\n\"\"\" \xC3\xA9\n"), 14u);  // line-ending backslash, then the end
  EXPECT_EQ(refused_at("a = '''x''''' \xC3\xA9\n"), 14u);
  EXPECT_EQ(refused_at("a = \"x\n\xC3\xA9\n"), 7u);  // a basic string ends at the line's end
}

TEST(TomlTextGuard, ManifestParserRefusesWithManifestInvalidAndTheOffset) {
  const auto manifest = parse_manifest(kBareKeyThenFefd, "myrepo");
  ASSERT_FALSE(manifest.ok());
  EXPECT_EQ(manifest.error().code, "manifest_invalid");
  EXPECT_EQ(manifest.error().message,
            "not accepted TOML (byte offset 1): non-ASCII byte outside a string or comment");
}

TEST(TomlTextGuard, BundleParserRefusesWithInvalidPayloadAndTheOffset) {
  const auto bundle = SecretSet::parse_bundle(kBareKeyThenFefd);
  ASSERT_FALSE(bundle.ok());
  EXPECT_EQ(bundle.error().code, "invalid_payload");
  EXPECT_EQ(bundle.error().message,
            "bundle is not accepted TOML (byte offset 1): non-ASCII byte outside a string or comment");
}

TEST(TomlTextGuard, ValidDocumentsStillParse) {
  const auto bundle = SecretSet::parse_bundle("A = \"caf\xC3\xA9\" # \xE2\x9C\x93\nB = '''\n\xC3\xA9'''\n");
  ASSERT_TRUE(bundle.ok()) << bundle.error().message;
  EXPECT_EQ(bundle->size(), 2u);
}

}  // namespace
}  // namespace remo::core
