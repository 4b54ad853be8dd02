#include "broker/crypto/armor.hpp"

#include <gtest/gtest.h>

#include "age_test_support.hpp"
#include "broker/crypto/base64.hpp"

namespace remo::crypto {
namespace {

using testing::Bytes;
using testing::to_bytes;
using testing::to_string;

const std::string kBegin = "-----BEGIN AGE ENCRYPTED FILE-----\n";
const std::string kEnd = "-----END AGE ENCRYPTED FILE-----\n";

// 100 bytes: two full 64-column lines and a last line of 8 columns ending in "==".
const Bytes kData = testing::pattern(100);
std::string line(std::size_t i) {
  const std::string all = base64::encode(kData, base64::Padding::kRequired);
  return all.substr(i * 64, 64);
}
const std::string kBody = line(0) + "\n" + line(1) + "\n" + line(2) + "\n";

Result<Bytes> decode(std::string_view text) { return armor::decode(to_bytes(text)); }

TEST(Armor, EncodesIn64ColumnLines) {
  const std::string armored = to_string(armor::encode(kData));
  EXPECT_EQ(armored, kBegin + kBody + kEnd);
  EXPECT_EQ(*decode(armored), kData);
}

TEST(Armor, RoundTripsAroundTheLineBoundary) {
  for (std::size_t n : {1u, 47u, 48u, 49u, 96u, 1000u}) {
    const Bytes data = testing::pattern(n);
    auto decoded = armor::decode(armor::encode(data));
    ASSERT_TRUE(decoded.ok()) << n;
    EXPECT_EQ(*decoded, data);
  }
}

TEST(Armor, AcceptsCrlfAndWhitespaceOutside) {
  std::string crlf;
  for (char c : kBegin + kBody + kEnd) {
    if (c == '\n') crlf += '\r';
    crlf += c;
  }
  EXPECT_EQ(*decode(crlf), kData);
  EXPECT_EQ(*decode("\n\r   \t\n" + kBegin + kBody + kEnd + "\n\r   \t\n"), kData);
  std::string no_final_eol = kBegin + kBody + kEnd;
  no_final_eol.pop_back();
  EXPECT_EQ(*decode(no_final_eol), kData);
}

TEST(Armor, AcceptsAFullLastLine) {
  const Bytes data = testing::pattern(96);
  const std::string all = base64::encode(data, base64::Padding::kRequired);
  EXPECT_EQ(*decode(kBegin + all.substr(0, 64) + "\n" + all.substr(64) + "\n" + kEnd), data);
}

TEST(Armor, RejectsMalformedArmor) {
  const std::string last_padded = line(2);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"no BEGIN", kBody + kEnd},
      {"no END", kBegin + kBody},
      {"lowercase", "-----begin age encrypted file-----\n" + kBody + "-----end age encrypted file-----\n"},
      {"wrong type", "-----BEGIN PGP MESSAGE-----\n" + kBody + "-----END PGP MESSAGE-----\n"},
      {"spaces in BEGIN", "----- BEGIN AGE ENCRYPTED FILE -----\n" + kBody + kEnd},
      {"spaces in END", kBegin + kBody + "----- END AGE ENCRYPTED FILE -----\n"},
      {"empty line after BEGIN", kBegin + "\n" + kBody + kEnd},
      {"empty line before END", kBegin + kBody + "\n" + kEnd},
      {"PEM header", kBegin + "Version: 1\n\n" + kBody + kEnd},
      {"short line in the middle", kBegin + line(0).substr(0, 16) + "\n" + line(0).substr(16) + "\n" +
                                       line(1) + "\n" + line(2) + "\n" + kEnd},
      {"long line",
       kBegin + line(0) + line(1).substr(0, 4) + "\n" + line(1).substr(4) + "\n" + line(2) + "\n" + kEnd},
      {"trailing space", kBegin + line(0) + " \n" + line(1) + "\n" + line(2) + "\n" + kEnd},
      {"trailing space on last line", kBegin + line(0) + "\n" + line(1) + "\n" + line(2) + " \n" + kEnd},
      {"leading space", kBegin + " " + line(0) + "\n" + line(1) + "\n" + line(2) + "\n" + kEnd},
      {"missing padding", kBegin + line(0) + "\n" + line(1) + "\n" + last_padded.substr(0, 6) + "\n" + kEnd},
      {"padding split", kBegin + line(0) + "\n" + line(1) + "\n" + last_padded.substr(0, 7) + "\n=\n" + kEnd},
      {"non-canonical", kBegin + line(0) + "\n" + line(1) + "\n" + last_padded.substr(0, 5) + "B==\n" + kEnd},
      {"PGP checksum", kBegin + kBody + "=AAAA\n" + kEnd},
      {"invalid character", kBegin + "*" + line(0).substr(1) + "\n" + line(1) + "\n" + line(2) + "\n" + kEnd},
      {"garbage after END", kBegin + kBody + kEnd + "garbage\n"},
      {"garbage before BEGIN", "garbage\n" + kBegin + kBody + kEnd},
      {"empty", kBegin + kEnd},
  };
  for (const auto& [name, text] : cases) {
    auto decoded = decode(text);
    ASSERT_FALSE(decoded.ok()) << name;
    EXPECT_EQ(decoded.error().code, "armor") << name;
  }
}

TEST(Armor, DetectsArmorByItsBoundary) {
  EXPECT_TRUE(armor::looks_armored(to_bytes(" \n" + kBegin)));
  EXPECT_TRUE(armor::looks_armored(to_bytes("----- BEGIN")));
  EXPECT_FALSE(armor::looks_armored(to_bytes("age-encryption.org/v1\n")));
}

}  // namespace
}  // namespace remo::crypto
