#include "broker/crypto/stream.hpp"

#include <gtest/gtest.h>

#include "age_test_support.hpp"

namespace remo::crypto {
namespace {

using testing::Bytes;
using testing::seal_chunk;

constexpr std::array<std::uint8_t, 32> kKey = {1, 2, 3, 4, 5, 6, 7, 8, 9};
constexpr std::size_t kChunk = stream::kChunkSize;

Bytes seal(const Bytes& plaintext) {
  Bytes out(stream::ciphertext_size(plaintext.size()));
  stream::seal(kKey, plaintext, out);
  return out;
}

Result<Bytes> open(const Bytes& ciphertext) {
  auto size = stream::plaintext_size(ciphertext.size());
  if (!size) return std::move(size).error();
  Bytes out(*size, 0xee);
  auto opened = stream::open(kKey, ciphertext, out);
  if (!opened) {
    EXPECT_EQ(out, Bytes(out.size(), 0)) << "output must be wiped on failure";
    return std::move(opened).error();
  }
  return out;
}

class StreamRoundTrip : public ::testing::TestWithParam<std::size_t> {};

TEST_P(StreamRoundTrip, SealsAndOpens) {
  const Bytes plaintext = testing::pattern(GetParam());
  const Bytes sealed = seal(plaintext);
  auto opened = open(sealed);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_EQ(*opened, plaintext);
}

INSTANTIATE_TEST_SUITE_P(ChunkBoundaries, StreamRoundTrip,
                         ::testing::Values(0, 1, kChunk - 1, kChunk, kChunk + 1, 2 * kChunk, 2 * kChunk + 1,
                                           // large enough to be opened by two threads
                                           100 * kChunk, 100 * kChunk + 7),
                         [](const ::testing::TestParamInfo<std::size_t>& param_info) {
                           return testing::size_name(param_info.param);
                         });

TEST(Stream, SizesFollowTheChunkLayout) {
  EXPECT_EQ(stream::ciphertext_size(0), 16u);
  EXPECT_EQ(stream::ciphertext_size(kChunk), kChunk + 16);
  EXPECT_EQ(stream::ciphertext_size(kChunk + 1), kChunk + 1 + 32);
  EXPECT_EQ(stream::ciphertext_size(2 * kChunk), 2 * kChunk + 32);
  EXPECT_EQ(*stream::plaintext_size(16), 0u);
  EXPECT_EQ(*stream::plaintext_size(2 * (kChunk + 16)), 2 * kChunk);
  EXPECT_FALSE(stream::plaintext_size(0).ok());
  EXPECT_FALSE(stream::plaintext_size(15).ok());
  EXPECT_FALSE(stream::plaintext_size(kChunk + 16 + 5).ok());
  EXPECT_FALSE(stream::plaintext_size(kChunk + 16 + 16).ok());  // empty chunk after a full one
}

TEST(Stream, LastChunkFlagIsAuthenticated) {
  // One full chunk sealed as non-last: a truncated stream must not pass as complete.
  const Bytes plaintext = testing::pattern(kChunk);
  EXPECT_FALSE(open(seal_chunk(kKey, plaintext, 0, false)).ok());
  EXPECT_TRUE(open(seal_chunk(kKey, plaintext, 0, true)).ok());
  // A short final chunk sealed without the flag.
  EXPECT_FALSE(open(seal_chunk(kKey, testing::pattern(10), 0, false)).ok());
}

TEST(Stream, FullChunkMarkedLastCannotBeFollowed) {
  Bytes file = seal_chunk(kKey, testing::pattern(kChunk), 0, true);
  const Bytes next = seal_chunk(kKey, testing::pattern(5), 1, true);
  file.insert(file.end(), next.begin(), next.end());
  auto opened = open(file);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, "payload");
}

TEST(Stream, EmptyFinalChunkOnlyForEmptyPlaintext) {
  EXPECT_TRUE(open(seal_chunk(kKey, {}, 0, true)).ok());
  Bytes file = seal_chunk(kKey, testing::pattern(kChunk), 0, false);
  const Bytes empty = seal_chunk(kKey, {}, 1, true);
  file.insert(file.end(), empty.begin(), empty.end());
  EXPECT_FALSE(open(file).ok());
}

TEST(Stream, DetectsTruncationReorderingAndExtension) {
  const Bytes plaintext = testing::pattern(2 * kChunk + 100);
  const Bytes sealed = seal(plaintext);
  const std::size_t c = kChunk + 16;
  // Truncated at the chunk boundaries and inside chunks.
  for (std::size_t cut : {c, 2 * c, 2 * c + 50, sealed.size() - 1, std::size_t{100}}) {
    EXPECT_FALSE(open(Bytes(sealed.begin(), sealed.begin() + static_cast<std::ptrdiff_t>(cut))).ok()) << cut;
  }
  // First two chunks swapped.
  Bytes swapped(sealed);
  std::copy(sealed.begin() + static_cast<std::ptrdiff_t>(c),
            sealed.begin() + static_cast<std::ptrdiff_t>(2 * c), swapped.begin());
  std::copy(sealed.begin(), sealed.begin() + static_cast<std::ptrdiff_t>(c),
            swapped.begin() + static_cast<std::ptrdiff_t>(c));
  EXPECT_FALSE(open(swapped).ok());
  // An extra chunk appended, and trailing bytes.
  Bytes extended(sealed);
  const Bytes extra = seal_chunk(kKey, testing::pattern(3), 3, true);
  extended.insert(extended.end(), extra.begin(), extra.end());
  EXPECT_FALSE(open(extended).ok());
  Bytes trailing(sealed);
  trailing.push_back(0);
  EXPECT_FALSE(open(trailing).ok());
}

TEST(Stream, DetectsABitFlipAnywhere) {
  const Bytes sealed = seal(testing::pattern(kChunk + 10));
  for (std::size_t pos : {std::size_t{0}, kChunk - 1, kChunk + 15, kChunk + 16, sealed.size() - 1}) {
    Bytes flipped(sealed);
    flipped[pos] ^= 0x01;
    EXPECT_FALSE(open(flipped).ok()) << pos;
  }
}

// Payloads of 64 chunks and more are opened in two halves on two threads: a failure in either half,
// including the chunk at the split, is reported by its class and wipes the whole output.
TEST(Stream, LargePayloadFailsWholeWhicheverHalfIsTampered) {
  constexpr std::size_t kChunks = 101;  // 100 full ones and a last one of 3 bytes
  const Bytes sealed = seal(testing::pattern((kChunks - 1) * kChunk + 3));
  const std::size_t chunk_stride = stream::kEncryptedChunkSize;
  for (std::size_t chunk : {std::size_t{0}, kChunks / 2 - 1, kChunks / 2, kChunks - 1}) {
    Bytes flipped(sealed);
    flipped[chunk * chunk_stride + 5] ^= 0x01;
    auto opened = open(flipped);
    ASSERT_FALSE(opened.ok()) << chunk;
    EXPECT_EQ(opened.error().code, "payload");
    EXPECT_EQ(opened.error().message.starts_with("chunk"), chunk != kChunks - 1) << opened.error().message;
  }
  Bytes flipped(sealed);
  flipped.back() ^= 0x01;  // the tag of the short last chunk
  auto opened = open(flipped);
  ASSERT_FALSE(opened.ok());
  EXPECT_TRUE(opened.error().message.starts_with("last chunk")) << opened.error().message;
}

}  // namespace
}  // namespace remo::crypto
