#include "broker/crypto/bech32.hpp"

#include <gtest/gtest.h>

#include "age_test_support.hpp"
#include "broker/crypto/age.hpp"

namespace remo::crypto {
namespace {

using testing::to_bytes;

TEST(Bech32, AcceptsBip173ValidStrings) {
  for (const char* text :
       {"A12UEL5L", "a12uel5l",
        "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
        "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
        "11qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqc8247j",
        "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w"}) {
    EXPECT_TRUE(bech32::decode(text).ok()) << text;
  }
}

TEST(Bech32, RejectsBip173InvalidStrings) {
  for (const char* text : {"pzry9x0s0muk",   // no separator
                           "1pzry9x0s0muk",  // empty human-readable part
                           "x1b4n0q5v",      // 'b' is not in the charset
                           "li1dgmt3",       // checksum too short
                           "de1lg7wt\xff",   // non-ASCII
                           "A1G7SGD8",       // checksum computed over an uppercase HRP
                           "10a06t8", "1qzzfhee", "a12uel5m" /* one character changed */}) {
    EXPECT_FALSE(bech32::decode(text).ok()) << text;
  }
}

TEST(Bech32, RejectsMixedCase) {
  auto result = bech32::decode("a12UEL5L");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "bech32");
  EXPECT_EQ(result.error().message, "mixed case");
}

TEST(Bech32, ReturnsLowercaseHrpAndRoundTripsData) {
  const auto data = testing::pattern(32);
  auto upper = bech32::encode("AGE-SECRET-KEY-", data, true);
  ASSERT_TRUE(upper.ok());
  EXPECT_TRUE(upper->view().starts_with("AGE-SECRET-KEY-1"));
  auto decoded = bech32::decode(upper->view());
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->hrp, "age-secret-key-");
  EXPECT_TRUE(decoded->data.equals(data));

  auto lower = bech32::encode("age", data, false);
  ASSERT_TRUE(lower.ok());
  auto again = bech32::decode(lower->view());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->hrp, "age");
  EXPECT_TRUE(again->data.equals(data));
}

TEST(Bech32, DetectsEverySingleCharacterSubstitution) {
  auto text = bech32::encode("age", testing::pattern(32), false);
  ASSERT_TRUE(text.ok());
  const std::string original(text->view());
  for (std::size_t i = 4; i < original.size(); ++i) {
    std::string changed = original;
    changed[i] = changed[i] == 'q' ? 'p' : 'q';
    EXPECT_FALSE(bech32::decode(changed).ok()) << "position " << i;
  }
}

// Builds "hrp1<values><checksum>" from raw 5-bit values, bypassing the encoder.
std::string encode_raw(std::string_view hrp, std::vector<std::uint8_t> values) {
  constexpr std::string_view kCharset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
  auto polymod = [](const std::vector<std::uint8_t>& v) {
    std::uint32_t chk = 1;
    for (std::uint8_t x : v) {
      const std::uint32_t top = chk >> 25;
      chk = ((chk & 0x1ffffff) << 5) ^ x;
      const std::uint32_t gen[5] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};
      for (int i = 0; i < 5; ++i) {
        if ((top >> i) & 1) chk ^= gen[i];
      }
    }
    return chk;
  };
  std::vector<std::uint8_t> expanded;
  for (char c : hrp) expanded.push_back(static_cast<std::uint8_t>(c >> 5));
  expanded.push_back(0);
  for (char c : hrp) expanded.push_back(static_cast<std::uint8_t>(c & 31));
  expanded.insert(expanded.end(), values.begin(), values.end());
  expanded.insert(expanded.end(), 6, 0);
  const std::uint32_t chk = polymod(expanded) ^ 1;
  std::string out(hrp);
  out += '1';
  for (std::uint8_t v : values) out += kCharset[v];
  for (int i = 0; i < 6; ++i) out += kCharset[(chk >> (5 * (5 - i))) & 31];
  return out;
}

TEST(Bech32, RejectsNonZeroPaddingBits) {
  // One byte 0xff is 11111 111(00): the last two bits are padding and must be zero.
  const std::string good = encode_raw("age", {31, 28});
  auto decoded = bech32::decode(good);
  ASSERT_TRUE(decoded.ok());
  ASSERT_EQ(decoded->data.size(), 1u);
  EXPECT_EQ(decoded->data.data()[0], 0xff);
  EXPECT_FALSE(bech32::decode(encode_raw("age", {31, 29})).ok());
  // A whole spare 5-bit group is not padding either.
  EXPECT_FALSE(bech32::decode(encode_raw("age", {31, 28, 0})).ok());
}

TEST(Bech32, HasNoLengthLimitLikeAge) {
  auto text = bech32::encode("age", testing::pattern(100), false);
  ASSERT_TRUE(text.ok());
  EXPECT_GT(text->size(), 90u);
  EXPECT_TRUE(bech32::decode(text->view()).ok());
}

TEST(X25519Keys, KnownIdentityHasKnownRecipient) {
  // The identity of the C2SP CCTV age test vectors; its recipient as `age-keygen -y` prints it.
  const std::string_view key = "AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0";
  auto identity = X25519Identity::parse(key);
  ASSERT_TRUE(identity.ok());
  EXPECT_EQ(identity->recipient().encode(), "age1xmwwc06ly3ee5rytxm9mflaz2u56jjj36s0mypdrwsvlul66mv4q47ryef");
  EXPECT_EQ(identity->encode().view(), key);
  auto recipient = X25519Recipient::parse("age1xmwwc06ly3ee5rytxm9mflaz2u56jjj36s0mypdrwsvlul66mv4q47ryef");
  ASSERT_TRUE(recipient.ok());
  EXPECT_EQ(*recipient, identity->recipient());
}

TEST(X25519Keys, RejectsWrongHrpLengthAndChecksum) {
  const auto key32 = testing::pattern(32);
  auto wrong_hrp = bech32::encode("age", key32, true);  // "AGE1..." is a recipient, not an identity
  EXPECT_EQ(X25519Identity::parse(wrong_hrp->view()).error().code, "key");
  auto short_key = bech32::encode("AGE-SECRET-KEY-", testing::pattern(31), true);
  EXPECT_EQ(X25519Identity::parse(short_key->view()).error().code, "key");
  auto long_recipient = bech32::encode("age", testing::pattern(33), false);
  EXPECT_EQ(X25519Recipient::parse(long_recipient->view()).error().code, "recipient");
  EXPECT_EQ(
      X25519Recipient::parse("age1xmwwc06ly3ee5rytxm9mflaz2u56jjj36s0mypdrwsvlul66mv4q47ryeq").error().code,
      "recipient");
  EXPECT_EQ(
      X25519Recipient::parse("AGE1xmwwc06ly3ee5rytxm9mflaz2u56jjj36s0mypdrwsvlul66mv4q47ryef").error().code,
      "recipient");
}

TEST(X25519Keys, ErrorsNeverQuoteTheSecretKey) {
  std::string key(X25519Identity::generate().encode().view());
  key.back() = key.back() == 'Q' ? 'P' : 'Q';
  auto result = X25519Identity::parse(key);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message.find(key.substr(16, 20)), std::string::npos);
}

TEST(X25519Keys, GeneratedIdentityRoundTrips) {
  const auto identity = X25519Identity::generate();
  auto parsed = X25519Identity::parse(identity.encode().view());
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->recipient(), identity.recipient());
  auto recipient = X25519Recipient::parse(identity.recipient().encode());
  ASSERT_TRUE(recipient.ok());
  EXPECT_EQ(*recipient, identity.recipient());
}

}  // namespace
}  // namespace remo::crypto
