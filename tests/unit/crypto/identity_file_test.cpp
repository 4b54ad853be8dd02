#include <gtest/gtest.h>

#include <regex>

#include "age_test_support.hpp"
#include "broker/crypto/age.hpp"

namespace remo::crypto {
namespace {

TEST(IdentityFile, FormatMatchesAgeKeygen) {
  const auto identity = X25519Identity::generate();
  const SecureBuffer file = format_identity_file(identity);
  const std::string text(file.view());
  const std::regex layout(
      "# created: \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(Z|[+-]\\d\\d:\\d\\d)\n"
      "# public key: age1[02-9ac-hj-np-z]{58}\n"
      "AGE-SECRET-KEY-1[02-9AC-HJ-NP-Z]{58}\n");
  EXPECT_TRUE(std::regex_match(text, layout)) << "unexpected layout";
  EXPECT_NE(text.find(identity.recipient().encode()), std::string::npos);

  auto parsed = parse_identity_file(file.view());
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->size(), 1u);
  EXPECT_EQ((*parsed)[0].recipient(), identity.recipient());
}

TEST(IdentityFile, SkipsCommentsBlankLinesAndCr) {
  const std::string a(X25519Identity::generate().encode().view());
  const std::string b(X25519Identity::generate().encode().view());
  auto parsed = parse_identity_file("# comment\n\n" + a + "\r\n# another\n" + b);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->size(), 2u);
}

TEST(IdentityFile, ErrorsNameTheLineNotTheKey) {
  std::string bad(X25519Identity::generate().encode().view());
  bad[20] = bad[20] == 'Q' ? 'P' : 'Q';
  auto parsed = parse_identity_file("# header\n" + bad + "\n");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code, "key");
  EXPECT_NE(parsed.error().message.find("line 2"), std::string::npos);
  EXPECT_EQ(parsed.error().message.find(bad.substr(16)), std::string::npos);
  EXPECT_EQ(parse_identity_file("# nothing\n\n").error().code, "key");
  std::string indented = " ";
  indented += X25519Identity::generate().encode().view();
  EXPECT_EQ(parse_identity_file(indented).error().code, "key");
}

TEST(RecipientsFile, ParsesAndRejects) {
  const std::string a = X25519Identity::generate().recipient().encode();
  const std::string b = X25519Identity::generate().recipient().encode();
  auto parsed = parse_recipients_file("# team\n" + a + "\n\n" + b + "\n");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->size(), 2u);
  auto bad = parse_recipients_file(a + "\nssh-ed25519 AAAA\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "recipient");
  EXPECT_NE(bad.error().message.find("line 2"), std::string::npos);
  EXPECT_EQ(parse_recipients_file("").error().code, "recipient");
}

}  // namespace
}  // namespace remo::crypto
