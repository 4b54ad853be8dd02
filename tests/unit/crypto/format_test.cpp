#include "broker/crypto/format.hpp"

#include <gtest/gtest.h>

#include "age_test_support.hpp"
#include "broker/crypto/base64.hpp"

namespace remo::crypto {
namespace {

using testing::Bytes;
using testing::to_bytes;

const std::string kMac43 = std::string(42, 'A') + "A";  // 32 zero bytes, unpadded

format::Stanza stanza(std::string type, std::vector<std::string> args, Bytes body) {
  return format::Stanza{std::move(type), std::move(args), std::move(body)};
}

Result<format::ParsedHeader> parse(std::string_view text) { return format::parse_header(to_bytes(text)); }

TEST(Base64, StrictCanonicalDecoding) {
  using base64::Padding;
  EXPECT_EQ(base64::decode("YWdl", Padding::kNone), to_bytes("age"));
  EXPECT_EQ(base64::decode("YQ", Padding::kNone), to_bytes("a"));
  EXPECT_FALSE(base64::decode("YQ==", Padding::kNone));  // padding in an unpadded context
  EXPECT_FALSE(base64::decode("YR", Padding::kNone));    // non-zero trailing bits
  EXPECT_FALSE(base64::decode("Y", Padding::kNone));     // impossible length
  EXPECT_FALSE(base64::decode("YW e", Padding::kNone));  // whitespace
  EXPECT_FALSE(base64::decode("YW-_", Padding::kNone));  // URL alphabet
  // Bytes with the high bit set: libsodium's decoder lets some through, ours must not.
  for (int high = 0x80; high <= 0xff; ++high) {
    std::string text = "YWdl";
    text[1] = static_cast<char>(high);
    EXPECT_FALSE(base64::decode(text, Padding::kNone)) << high;
  }
  EXPECT_EQ(base64::decode("YQ==", Padding::kRequired), to_bytes("a"));
  EXPECT_FALSE(base64::decode("YQ", Padding::kRequired));
  EXPECT_FALSE(base64::decode("YQ=", Padding::kRequired));
  EXPECT_FALSE(base64::decode("YR==", Padding::kRequired));
  EXPECT_FALSE(base64::decode("YQ==YQ==", Padding::kRequired));
  EXPECT_EQ(base64::encode(to_bytes("a"), Padding::kNone), "YQ");
  EXPECT_EQ(base64::encode(to_bytes("a"), Padding::kRequired), "YQ==");
}

TEST(HeaderFormat, RoundTripsBodiesAroundTheLineBoundary) {
  for (std::size_t body_size : {0u, 1u, 32u, 47u, 48u, 49u, 95u, 96u, 97u, 200u}) {
    format::Header header;
    header.stanzas.push_back(stanza("X25519", {"arg1"}, testing::pattern(body_size)));
    header.stanzas.push_back(stanza("other", {"a", "b", "c"}, testing::pattern(body_size, 9)));
    header.stanzas.push_back(stanza("noargs", {}, {}));
    header.mac.fill(0x5a);
    const std::string text = format::serialize_header(header);
    auto parsed = parse(text + "payload");
    ASSERT_TRUE(parsed.ok()) << body_size << ": " << parsed.error().message;
    EXPECT_EQ(parsed->header.stanzas, header.stanzas);
    EXPECT_EQ(parsed->header.mac, header.mac);
    EXPECT_EQ(parsed->size, text.size());
    EXPECT_EQ(parsed->mac_input_size, format::serialize_mac_input(header.stanzas).size());
    EXPECT_EQ(format::serialize_header(parsed->header), text);
  }
}

TEST(HeaderFormat, FullLastBodyLineNeedsAnEmptyLine) {
  const std::string full = base64::encode(testing::pattern(48), base64::Padding::kNone);
  ASSERT_EQ(full.size(), 64u);
  EXPECT_TRUE(parse("age-encryption.org/v1\n-> t\n" + full + "\n\n--- " + kMac43 + "\n").ok());
  EXPECT_FALSE(parse("age-encryption.org/v1\n-> t\n" + full + "\n--- " + kMac43 + "\n").ok());
}

TEST(HeaderFormat, RejectsMalformedHeaders) {
  const std::string ok_stanza = "-> X25519 abc\nYWdl\n";
  const std::string mac_line = "--- " + kMac43 + "\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"empty input", ""},
      {"other version", "age-encryption.org/v2\n" + ok_stanza + mac_line},
      {"version line with CRLF", "age-encryption.org/v1\r\n" + ok_stanza + mac_line},
      {"no stanzas", "age-encryption.org/v1\n" + mac_line},
      {"missing MAC line", "age-encryption.org/v1\n" + ok_stanza},
      {"MAC line without LF", "age-encryption.org/v1\n" + ok_stanza + "--- " + kMac43},
      {"MAC without space", "age-encryption.org/v1\n" + ok_stanza + "---" + kMac43 + "\n"},
      {"MAC with two spaces", "age-encryption.org/v1\n" + ok_stanza + "---  " + kMac43 + "\n"},
      {"MAC with trailing space", "age-encryption.org/v1\n" + ok_stanza + "--- " + kMac43 + " \n"},
      {"MAC truncated", "age-encryption.org/v1\n" + ok_stanza + "--- " + kMac43.substr(1) + "\n"},
      {"MAC not canonical", "age-encryption.org/v1\n" + ok_stanza + "--- " + kMac43.substr(1) + "B\n"},
      {"MAC padded", "age-encryption.org/v1\n" + ok_stanza + "--- " + kMac43 + "=\n"},
      {"stanza without space", "age-encryption.org/v1\n->X25519\nYWdl\n" + mac_line},
      {"stanza without type", "age-encryption.org/v1\n-> \nYWdl\n" + mac_line},
      {"empty argument", "age-encryption.org/v1\n-> X25519  abc\nYWdl\n" + mac_line},
      {"trailing space", "age-encryption.org/v1\n-> X25519 abc \nYWdl\n" + mac_line},
      {"non-ASCII argument", "age-encryption.org/v1\n-> X25519 \xc3\xa9\nYWdl\n" + mac_line},
      {"control character", "age-encryption.org/v1\n-> X25519 a\tb\nYWdl\n" + mac_line},
      {"body padded", "age-encryption.org/v1\n-> X25519 abc\nYQ==\n" + mac_line},
      {"body not canonical", "age-encryption.org/v1\n-> X25519 abc\nYR\n" + mac_line},
      {"body line too long", "age-encryption.org/v1\n-> t\n" + std::string(68, 'A') + "\n" + mac_line},
      {"body missing", "age-encryption.org/v1\n-> X25519 abc\n" + mac_line},
      {"body CRLF", "age-encryption.org/v1\n-> X25519 abc\nYWdl\r\n" + mac_line},
      {"garbage line", "age-encryption.org/v1\n" + ok_stanza + "garbage\n" + mac_line},
  };
  for (const auto& [name, text] : cases) {
    auto parsed = parse(text);
    ASSERT_FALSE(parsed.ok()) << name;
    EXPECT_EQ(parsed.error().code, "header") << name;
  }
}

TEST(HeaderFormat, KeepsUnknownStanzasVerbatim) {
  auto parsed =
      parse("age-encryption.org/v1\n-> grease-&^% x y\n\n-> X25519 abc\nYWdl\n--- " + kMac43 + "\n");
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->header.stanzas.size(), 2u);
  EXPECT_EQ(parsed->header.stanzas[0].type, "grease-&^%");
  EXPECT_EQ(parsed->header.stanzas[0].args, (std::vector<std::string>{"x", "y"}));
  EXPECT_TRUE(parsed->header.stanzas[0].body.empty());
}

}  // namespace
}  // namespace remo::crypto
