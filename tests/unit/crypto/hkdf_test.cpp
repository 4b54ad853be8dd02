#include "broker/crypto/hkdf.hpp"

#include <gtest/gtest.h>

#include "age_test_support.hpp"

namespace remo::crypto {
namespace {

using testing::Bytes;
using testing::from_hex;

Bytes range(std::uint8_t first, std::size_t n) {
  Bytes out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::uint8_t>(first + i);
  return out;
}

Bytes hkdf(const Bytes& salt, const Bytes& ikm, const Bytes& info, std::size_t length) {
  Bytes out(length);
  hkdf_sha256(salt, ikm, info, out);
  return out;
}

TEST(Hkdf, Rfc5869TestCase1) {
  EXPECT_EQ(hkdf(range(0x00, 13), Bytes(22, 0x0b), range(0xf0, 10), 42),
            from_hex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"));
}

TEST(Hkdf, Rfc5869TestCase2LongInputs) {
  EXPECT_EQ(
      hkdf(range(0x60, 80), range(0x00, 80), range(0xb0, 80), 82),
      from_hex(
          "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09"
          "da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87"));
}

TEST(Hkdf, Rfc5869TestCase3EmptySaltAndInfo) {
  EXPECT_EQ(hkdf({}, Bytes(22, 0x0b), {}, 42),
            from_hex("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"));
}

TEST(Hkdf, EmptySaltEqualsHashLenZeros) {
  EXPECT_EQ(hkdf({}, Bytes(16, 7), testing::to_bytes("header"), 32),
            hkdf(Bytes(32, 0), Bytes(16, 7), testing::to_bytes("header"), 32));
}

TEST(Hmac, Rfc4231TestCase1) {
  const auto mac = hmac_sha256(Bytes(20, 0x0b), testing::to_bytes("Hi There"));
  EXPECT_EQ(Bytes(mac.begin(), mac.end()),
            from_hex("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"));
}

}  // namespace
}  // namespace remo::crypto
