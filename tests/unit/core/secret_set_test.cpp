#include "broker/core/secret_set.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include <string>
#include <vector>

namespace remo::core {
namespace {

constexpr std::string_view kCanary = "CANARY-9f3b2c7e41d0";

std::string value_of(const SecretSet& set, std::string_view name) {
  const SecretEntry* value = set.find(name);
  if (value == nullptr) return "<missing>";
  return std::string(value->bytes.view());
}

std::string base64(std::span<const std::uint8_t> bytes) {
  std::string out(sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

void expect_invalid_payload_without_canary(std::string_view bundle) {
  const auto result = SecretSet::parse_bundle(bundle);
  ASSERT_FALSE(result.ok()) << bundle;
  EXPECT_EQ(result.error().code, "invalid_payload");
  EXPECT_FALSE(result.error().message.empty());
  EXPECT_EQ(result.error().message.find("CANARY"), std::string::npos) << result.error().message;
  EXPECT_EQ(result.error().message.find("9f3b"), std::string::npos) << result.error().message;
}

TEST(SecretSet, BundleOfStringsYieldsOneSecretPerKey) {
  const auto set = SecretSet::parse_bundle("GITHUB_TOKEN = \"ghp_abc\"\nnpm_token = 'literal'\n");
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->size(), 2u);
  EXPECT_EQ(value_of(*set, "GITHUB_TOKEN"), "ghp_abc");
  EXPECT_EQ(value_of(*set, "npm_token"), "literal");
  EXPECT_FALSE(set->find("GITHUB_TOKEN")->from_base64);
}

TEST(SecretSet, StringValueIsStoredAsItsUtf8Bytes) {
  const auto set = SecretSet::parse_bundle("A = \"h\\u00e9llo \\\"q\\\"\"\nB = \"\"\"\nmulti\nline\"\"\"\n");
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(value_of(*set, "A"), "h\xc3\xa9llo \"q\"");
  EXPECT_EQ(value_of(*set, "B"), "multi\nline");
}

TEST(SecretSet, EmptyStringValueIsAnEmptySecret) {
  const auto set = SecretSet::parse_bundle("EMPTY = \"\"\n");
  ASSERT_TRUE(set.ok());
  ASSERT_NE(set->find("EMPTY"), nullptr);
  EXPECT_TRUE(set->find("EMPTY")->bytes.empty());
}

TEST(SecretSet, EmptyBundleIsValidAndHoldsNothing) {
  for (const char* bundle : {"", "\n\n", "# only a comment\n"}) {
    const auto set = SecretSet::parse_bundle(bundle);
    ASSERT_TRUE(set.ok()) << bundle;
    EXPECT_EQ(set->size(), 0u);
    EXPECT_TRUE(set->names().empty());
  }
}

TEST(SecretSet, Base64ValueRoundTripsEveryByteValue) {
  std::vector<std::uint8_t> bytes(256);
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(255 - i);
  const auto set = SecretSet::parse_bundle("BLOB = { value_b64 = \"" + base64(bytes) + "\" }\n");
  ASSERT_TRUE(set.ok()) << set.error().message;
  const SecretEntry* value = set->find("BLOB");
  ASSERT_NE(value, nullptr);
  EXPECT_TRUE(value->from_base64);
  EXPECT_TRUE(value->bytes.equals(bytes));
}

TEST(SecretSet, Base64ValuesOfEveryPaddingLengthDecode) {
  const auto set = SecretSet::parse_bundle(
      "ONE = { value_b64 = \"QQ==\" }\nTWO = { value_b64 = \"QUI=\" }\nTHREE = { value_b64 = \"QUJD\" }\n"
      "NONE = { value_b64 = \"\" }\n");
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(value_of(*set, "ONE"), "A");
  EXPECT_EQ(value_of(*set, "TWO"), "AB");
  EXPECT_EQ(value_of(*set, "THREE"), "ABC");
  EXPECT_EQ(value_of(*set, "NONE"), "");
  EXPECT_TRUE(set->find("NONE")->from_base64);
}

// The values share one secure allocation: each must keep exactly its own bytes (base64 slots are sized
// for the worst case and decode shorter), and stay readable after the set is moved.
TEST(SecretSet, ValuesSharingOneAllocationKeepTheirOwnBytesAcrossAMove) {
  const auto name_of = [](int i) { return std::string(1, 'S').append(std::to_string(i)); };
  std::string bundle;
  for (int i = 0; i < 200; ++i) {
    bundle.append(name_of(i));
    if (i % 3 == 0) {
      std::vector<std::uint8_t> bytes(static_cast<std::size_t>(i % 7), static_cast<std::uint8_t>(i));
      bundle.append(" = { value_b64 = \"").append(base64(bytes)).append("\" }\n");
    } else {
      bundle.append(" = \"")
          .append(static_cast<std::size_t>(i % 11), static_cast<char>('a' + i % 26))
          .append("\"\n");
    }
  }
  auto parsed = SecretSet::parse_bundle(bundle);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  const SecretSet set = std::move(parsed).value();
  ASSERT_EQ(set.size(), 200u);
  for (int i = 0; i < 200; ++i) {
    const SecretEntry* value = set.find(name_of(i));
    ASSERT_NE(value, nullptr);
    if (i % 3 == 0) {
      const std::vector<std::uint8_t> bytes(static_cast<std::size_t>(i % 7), static_cast<std::uint8_t>(i));
      EXPECT_TRUE(value->from_base64);
      EXPECT_TRUE(value->bytes.equals(bytes)) << i;
    } else {
      EXPECT_EQ(value->bytes.view(),
                std::string(static_cast<std::size_t>(i % 11), static_cast<char>('a' + i % 26)));
    }
  }
}

TEST(SecretSet, NamesAreSortedAndFindMissesUnknownNames) {
  const auto set = SecretSet::parse_bundle("b = \"2\"\nA = \"1\"\nc = \"3\"\n");
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->names(), (std::vector<std::string>{"A", "b", "c"}));
  EXPECT_EQ(set->find("B"), nullptr);
  EXPECT_EQ(set->find(""), nullptr);
}

TEST(SecretSet, NameOf128CharactersIsAcceptedAnd129Rejected) {
  const std::string name128(128, 'N');
  const auto ok = SecretSet::parse_bundle(name128 + " = \"v\"\n");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_NE(ok->find(name128), nullptr);

  expect_invalid_payload_without_canary(std::string(129, 'N') + " = \"" + std::string(kCanary) + "\"\n");
}

TEST(SecretSet, SecretNameValidationFollowsThePattern) {
  EXPECT_TRUE(is_valid_secret_name("A"));
  EXPECT_TRUE(is_valid_secret_name("gh_TOKEN_2"));
  EXPECT_TRUE(is_valid_secret_name("_"));
  EXPECT_TRUE(is_valid_secret_name(std::string(128, 'x')));
  EXPECT_FALSE(is_valid_secret_name(""));
  EXPECT_FALSE(is_valid_secret_name(std::string(129, 'x')));
  EXPECT_FALSE(is_valid_secret_name("with-dash"));
  EXPECT_FALSE(is_valid_secret_name("with.dot"));
  EXPECT_FALSE(is_valid_secret_name("with space"));
  EXPECT_FALSE(is_valid_secret_name("caf\xc3\xa9"));
  EXPECT_FALSE(is_valid_secret_name(std::string_view("NUL\0", 4)));
}

TEST(SecretSet, BundleRejectsInvalidNameWithoutEchoingIt) {
  const auto result = SecretSet::parse_bundle("OK = \"1\"\n\"CANARY-9f3b name\" = \"v\"\n");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "invalid_payload");
  EXPECT_NE(result.error().message.find("line 2"), std::string::npos) << result.error().message;
  EXPECT_EQ(result.error().message.find("CANARY"), std::string::npos) << result.error().message;
}

TEST(SecretSet, BundleRejectsNestedTableWithoutLeakingValue) {
  const std::string bundle = "[TOKEN]\nvalue_b64 = \"Q0FOQVJZ\"\nnote = \"" + std::string(kCanary) + "\"\n";
  expect_invalid_payload_without_canary(bundle);
  const auto result = SecretSet::parse_bundle(bundle);
  EXPECT_NE(result.error().message.find("TOKEN"), std::string::npos) << result.error().message;
}

TEST(SecretSet, BundleRejectsTableHeaderEvenWithOnlyValueB64) {
  expect_invalid_payload_without_canary("[TOKEN]\nvalue_b64 = \"QQ==\"\n");
}

TEST(SecretSet, BundleRejectsDottedKeyWithoutLeakingValue) {
  expect_invalid_payload_without_canary("TOKEN.inner = \"" + std::string(kCanary) + "\"\n");
}

TEST(SecretSet, BundleRejectsArrayWithoutLeakingValue) {
  expect_invalid_payload_without_canary("TOKEN = [\"" + std::string(kCanary) + "\"]\n");
}

TEST(SecretSet, BundleRejectsArrayOfTablesWithoutLeakingValue) {
  expect_invalid_payload_without_canary("[[TOKEN]]\nvalue = \"" + std::string(kCanary) + "\"\n");
}

TEST(SecretSet, BundleRejectsNonStringScalarsAndNamesTheKey) {
  for (const char* value : {"12345", "1.5", "true", "1979-05-27", "07:32:00", "1979-05-27T07:32:00Z"}) {
    const auto result = SecretSet::parse_bundle(std::string("PIN = ") + value + "\n");
    ASSERT_FALSE(result.ok()) << value;
    EXPECT_EQ(result.error().code, "invalid_payload");
    EXPECT_NE(result.error().message.find("PIN"), std::string::npos) << result.error().message;
    EXPECT_EQ(result.error().message.find(value), std::string::npos) << result.error().message;
  }
}

TEST(SecretSet, BundleRejectsInlineTableWithExtraKeyWithoutLeakingValue) {
  expect_invalid_payload_without_canary("T = { value_b64 = \"QQ==\", note = \"" + std::string(kCanary) +
                                        "\" }\n");
}

TEST(SecretSet, BundleRejectsInlineTableWithoutValueB64WithoutLeakingValue) {
  expect_invalid_payload_without_canary("T = { value = \"" + std::string(kCanary) + "\" }\n");
  expect_invalid_payload_without_canary("T = {}\n");
}

TEST(SecretSet, BundleRejectsNonStringValueB64) {
  expect_invalid_payload_without_canary("T = { value_b64 = 42 }\n");
  expect_invalid_payload_without_canary("T = { value_b64 = [\"" + std::string(kCanary) + "\"] }\n");
}

TEST(SecretSet, BundleRejectsNonCanonicalOrGarbageBase64) {
  for (const char* encoded : {
           "QR==",         // non-zero padding bits
           "QQ=",          // short padding
           "QQ",           // missing padding
           "QUJD====",     // extra padding
           "QQ==QQ==",     // data after padding
           "_-8=",         // URL-safe alphabet
           "QU JD",        // whitespace
           "QUJD\\n",      // trailing newline
           "Q0FOQVJZ!",    // garbage
           "CANARY-9f3b",  // not base64 at all
       }) {
    SCOPED_TRACE(encoded);
    expect_invalid_payload_without_canary(std::string("T = { value_b64 = \"") + encoded + "\" }\n");
  }
}

TEST(SecretSet, BundleSyntaxErrorReportsPositionButNeverTheSourceText) {
  const std::string canary(kCanary);
  for (const std::string& bundle : {
           "A = \"" + canary + "\" junk\n",             // trailing garbage after a value
           "A = \"" + canary + "\n",                    // unterminated basic string
           "A = '" + canary,                            // unterminated literal string
           "A = " + canary + "\n",                      // bare value
           "A = \"x\"\nA = \"" + canary + "\"\n",       // duplicate key
           "A = 1979-05-27T07:32:00Z" + canary + "\n",  // malformed date-time
           canary + "\n",                               // a value where a key should be
           "A = \"\\q" + canary + "\"\n",               // bad escape
           "A = { value_b64 = \"" + canary + "\"\n",    // unterminated inline table
       }) {
    SCOPED_TRACE(bundle);
    expect_invalid_payload_without_canary(bundle);
    const auto result = SecretSet::parse_bundle(bundle);
    EXPECT_NE(result.error().message.find("line "), std::string::npos) << result.error().message;
  }
}

TEST(SecretSet, SyntaxErrorNamesTheLineItIsOn) {
  const auto result = SecretSet::parse_bundle("A = \"1\"\nB = \"2\"\nC = \"3\" D\n");
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("line 3"), std::string::npos) << result.error().message;
}

}  // namespace
}  // namespace remo::core
