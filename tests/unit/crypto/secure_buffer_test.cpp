#include "broker/crypto/secure_buffer.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace remo::crypto {
namespace {

class SecureBufferSizes : public ::testing::TestWithParam<std::size_t> {};

TEST_P(SecureBufferSizes, IsZeroedWritableMovableAndTruncatable) {
  const std::size_t n = GetParam();
  SecureBuffer buffer(n);
  ASSERT_EQ(buffer.size(), n);
  EXPECT_TRUE(std::all_of(buffer.data(), buffer.data() + n, [](std::uint8_t b) { return b == 0; }));
  std::fill(buffer.data(), buffer.data() + n, std::uint8_t{0xab});
  SecureBuffer moved(std::move(buffer));
  EXPECT_EQ(buffer.size(), 0u);  // NOLINT: checking the moved-from state on purpose
  EXPECT_EQ(moved.size(), n);
  moved.truncate(n / 2);
  EXPECT_EQ(moved.size(), n / 2);
  EXPECT_TRUE(std::all_of(moved.data(), moved.data() + n / 2, [](std::uint8_t b) { return b == 0xab; }));
  SecureBuffer assigned;
  assigned = std::move(moved);
  EXPECT_EQ(assigned.size(), n / 2);
  assigned.reset();
  EXPECT_TRUE(assigned.empty());
}

// Small sizes use sodium_malloc, large ones the dedicated huge-page-aligned mapping.
INSTANTIATE_TEST_SUITE_P(BothAllocators, SecureBufferSizes,
                         ::testing::Values(0, 1, 4096, 1024 * 1024 - 1, 1024 * 1024, 3 * 1024 * 1024 + 17));

TEST(SecureBuffer, ForOverwriteHasTheRequestedSize) {
  SecureBuffer large = SecureBuffer::for_overwrite(5 * 1024 * 1024 + 3);
  EXPECT_EQ(large.size(), 5u * 1024 * 1024 + 3);
  large.data()[large.size() - 1] = 1;
  large.data()[0] = 1;
}

TEST(SecureBufferDeathTest, LargeBufferOverflowHitsTheGuardPage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        SecureBuffer large(2 * 1024 * 1024 + 5);
        volatile std::uint8_t* p = large.data();
        p[large.size()] = 1;
      },
      "");
}

}  // namespace
}  // namespace remo::crypto
