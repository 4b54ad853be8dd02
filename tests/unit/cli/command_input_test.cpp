#include "broker/cli/command_input.hpp"

#include <gtest/gtest.h>

#include <string>

namespace remo::cli {
namespace {

std::span<const std::uint8_t> bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};  // NOLINT: byte view
}

std::string_view text(std::span<const std::uint8_t> data) {
  return {reinterpret_cast<const char*>(data.data()), data.size()};  // NOLINT: byte view
}

TEST(ParseId, AcceptsDecimalNumbersBelowTheLargestUint32) {
  EXPECT_EQ(*parse_id("0", "--uid"), 0U);
  EXPECT_EQ(*parse_id("1000", "--uid"), 1000U);
  EXPECT_EQ(*parse_id("4294967294", "--gid"), 4294967294U);
}

TEST(ParseId, RefusesEverythingElseNamingTheOption) {
  for (const std::string_view bad :
       {"", "-1", "4294967295", "99999999999999999999", "12a", "1 ", "0x10", "+"}) {
    auto id = parse_id(std::string(bad), "--ttl");
    ASSERT_FALSE(id.ok()) << bad;
    EXPECT_EQ(id.error().code, "usage");
    EXPECT_EQ(id.error().message, "--ttl must be a number in 0..4294967294");
  }
}

TEST(SplitSignature, SeparatesTheArmoredSignatureFromTheCiphertext) {
  const std::string signature = "-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n";
  const std::string input = signature + "age-encryption.org/v1\n";
  auto split = split_signature(bytes(input));
  ASSERT_TRUE(split.ok());
  EXPECT_EQ(split->first, signature);
  EXPECT_EQ(text(split->second), "age-encryption.org/v1\n");
}

TEST(SplitSignature, ACrlfLineBreakBelongsToTheSignature) {
  const std::string input = "-----BEGIN SSH SIGNATURE-----\r\nx\r\n-----END SSH SIGNATURE-----\r\nCT";
  auto split = split_signature(bytes(input));
  ASSERT_TRUE(split.ok());
  EXPECT_EQ(text(split->second), "CT");
}

TEST(SplitSignature, RefusesInputWithoutBeginOrEndLine) {
  auto no_begin = split_signature(bytes("age-encryption.org/v1\n"));
  ASSERT_FALSE(no_begin.ok());
  EXPECT_EQ(no_begin.error().code, "usage");
  auto no_end = split_signature(bytes("-----BEGIN SSH SIGNATURE-----\nx\n"));
  ASSERT_FALSE(no_end.ok());
  EXPECT_EQ(no_end.error().message, "--signature-on-stdin: the signature has no END line");
}

TEST(EnvName, IsAPosixVariableName) {
  EXPECT_TRUE(is_env_name("GITHUB_TOKEN"));
  EXPECT_TRUE(is_env_name("_x1"));
  EXPECT_FALSE(is_env_name(""));
  EXPECT_FALSE(is_env_name("1X"));
  EXPECT_FALSE(is_env_name("A-B"));
  EXPECT_FALSE(is_env_name("A=B"));
}

TEST(TokenText, IsPrintableAsciiWithoutQuotesBackslashesOrSpaces) {
  EXPECT_TRUE(is_token_text("rbc1_AbC-123.xyz~"));
  EXPECT_TRUE(is_token_text(std::string(1024, 't')));
  EXPECT_FALSE(is_token_text(std::string(1025, 't')));
  EXPECT_FALSE(is_token_text(""));
  for (const std::string_view bad : {"a b", "a\"b", "a\\b", "a\tb", "a\x7f", "\xC3\xA9"}) {
    EXPECT_FALSE(is_token_text(bad)) << bad;
  }
}

TEST(EnvSpecs, NameAloneOrNameEqualsVariable) {
  auto wanted = parse_env_specs({"GITHUB_TOKEN", "NPM_TOKEN=NODE_AUTH_TOKEN"});
  ASSERT_TRUE(wanted.ok());
  ASSERT_EQ(wanted->size(), 2U);
  EXPECT_EQ((*wanted)[0].secret, "GITHUB_TOKEN");
  EXPECT_EQ((*wanted)[0].variable, "GITHUB_TOKEN");
  EXPECT_EQ((*wanted)[1].secret, "NPM_TOKEN");
  EXPECT_EQ((*wanted)[1].variable, "NODE_AUTH_TOKEN");
}

TEST(EnvSpecs, ABadNameOrVariableIsAUsageErrorNamingTheSpec) {
  auto bad_name = parse_env_specs({"OK", "NOT-A-NAME"});
  ASSERT_FALSE(bad_name.ok());
  EXPECT_EQ(bad_name.error().code, "usage");
  EXPECT_EQ(bad_name.error().message, "--env NOT-A-NAME: NAME must match ^[A-Za-z0-9_]{1,128}$");
  auto bad_variable = parse_env_specs({"OK=1BAD"});
  ASSERT_FALSE(bad_variable.ok());
  EXPECT_EQ(bad_variable.error().message, "--env OK=1BAD: VAR must be an environment variable name");
  EXPECT_FALSE(parse_env_specs({"OK="}).ok());
}

}  // namespace
}  // namespace remo::cli
