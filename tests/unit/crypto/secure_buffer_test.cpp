#include "broker/crypto/secure_buffer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

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

// Up to 16 KiB the pooled slabs, then sodium_malloc, then the dedicated huge-page-aligned mapping.
INSTANTIATE_TEST_SUITE_P(EveryAllocator, SecureBufferSizes,
                         ::testing::Values(0, 1, 31, 32, 33, 2048, 2049, 4096, 16384, 16385, 1024 * 1024 - 1,
                                           1024 * 1024, 3 * 1024 * 1024 + 17),
                         [](const ::testing::TestParamInfo<std::size_t>& param_info) {
                           return "bytes_" + std::to_string(param_info.param);
                         });

// A pooled block comes back wiped: the next buffer of its class that gets it sees zeros, even through
// for_overwrite, and never the previous owner's bytes.
TEST(SecureBuffer, PooledBlocksAreWipedBeforeReuse) {
  const std::uint8_t* first = nullptr;
  {
    SecureBuffer secret =
        SecureBuffer::copy_of(std::string_view("CANARY-pooled-block-7d1e-0123456789abcdef"));
    first = secret.data();
  }
  bool reused = false;
  std::vector<SecureBuffer> held;
  for (int i = 0; i < 4096 && !reused; ++i) {  // the freed block is handed out again within the class
    held.push_back(SecureBuffer::for_overwrite(48));
    reused = held.back().data() == first;
    EXPECT_TRUE(
        std::all_of(held.back().data(), held.back().data() + 48, [](std::uint8_t b) { return b == 0; }));
  }
  EXPECT_TRUE(reused);
}

TEST(SecureBuffer, PooledBuffersOfOneClassDoNotOverlap) {
  std::vector<SecureBuffer> held;
  for (int i = 0; i < 300; ++i) {  // more than one 64 KiB slab of 256-byte blocks
    held.push_back(SecureBuffer(200));
    std::fill(held.back().data(), held.back().data() + 200, static_cast<std::uint8_t>(i));
  }
  for (int i = 0; i < 300; ++i) {
    const auto& buffer = held[static_cast<std::size_t>(i)];
    EXPECT_TRUE(std::all_of(buffer.data(), buffer.data() + 200,
                            [i](std::uint8_t b) { return b == static_cast<std::uint8_t>(i); }));
  }
}

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
