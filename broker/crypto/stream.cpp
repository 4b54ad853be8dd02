#include "broker/crypto/stream.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <thread>

#include "broker/crypto/secure_buffer.hpp"

namespace remo::crypto::stream {
namespace {

using Nonce = std::array<std::uint8_t, kNonceSize>;

Nonce chunk_nonce(std::uint64_t counter, bool last) {
  Nonce nonce{};  // bytes 0..10: big-endian counter (the top three are always zero here)
  for (std::size_t i = 0; i < 8; ++i) {
    nonce[10 - i] = static_cast<std::uint8_t>(counter >> (8 * i));
  }
  nonce[11] = last ? kLastChunkFlag : 0;
  return nonce;
}

Error payload_error(std::string message) { return make_error("payload", std::move(message)); }

}  // namespace

std::size_t ciphertext_size(std::size_t plaintext_size) noexcept {
  const std::size_t chunks = plaintext_size == 0 ? 1 : (plaintext_size + kChunkSize - 1) / kChunkSize;
  return plaintext_size + chunks * kTagSize;
}

Result<std::size_t> plaintext_size(std::size_t size) {
  if (size < kTagSize) return payload_error("payload is truncated: no complete chunk");
  const std::size_t full_chunks = size / kEncryptedChunkSize;
  const std::size_t rest = size % kEncryptedChunkSize;
  if (rest == 0) return full_chunks * kChunkSize;  // the last chunk is a full one
  if (rest < kTagSize) return payload_error("payload is truncated inside a chunk");
  // Empty plaintext is the only case that allows, and requires, an empty chunk.
  if (rest == kTagSize && full_chunks > 0) return payload_error("empty last chunk after full chunks");
  return full_chunks * kChunkSize + (rest - kTagSize);
}

void seal(std::span<const std::uint8_t, kKeySize> key, std::span<const std::uint8_t> plaintext,
          std::span<std::uint8_t> out) {
  if (out.size() != ciphertext_size(plaintext.size())) std::abort();
  ensure_sodium();
  std::size_t in_pos = 0;
  std::size_t out_pos = 0;
  for (std::uint64_t counter = 0;; ++counter) {
    const std::size_t n = std::min(kChunkSize, plaintext.size() - in_pos);
    const bool last = in_pos + n == plaintext.size();
    const Nonce nonce = chunk_nonce(counter, last);
    crypto_aead_chacha20poly1305_ietf_encrypt_detached(out.data() + out_pos, out.data() + out_pos + n,
                                                       nullptr, plaintext.data() + in_pos, n, nullptr, 0,
                                                       nullptr, nonce.data(), key.data());
    in_pos += n;
    out_pos += n + kTagSize;
    if (last) break;
  }
}

namespace {

// Opens chunks [first, end) of a payload of `chunks` chunks. Returns the index of the first chunk that
// does not authenticate, or `end` when all of them do.
std::size_t open_chunks(std::span<const std::uint8_t, kKeySize> key, std::span<const std::uint8_t> ciphertext,
                        std::span<std::uint8_t> out, std::size_t first, std::size_t end, std::size_t chunks) {
  for (std::size_t index = first; index < end; ++index) {
    const std::size_t in_pos = index * kEncryptedChunkSize;
    const std::size_t sealed = std::min(kEncryptedChunkSize, ciphertext.size() - in_pos);
    const std::size_t n = sealed - kTagSize;
    const Nonce nonce = chunk_nonce(index, index + 1 == chunks);
    if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(
            out.data() + index * kChunkSize, nullptr, ciphertext.data() + in_pos, n,
            ciphertext.data() + in_pos + n, nullptr, 0, nonce.data(), key.data()) != 0) {
      return index;
    }
  }
  return end;
}

// Below this many chunks (4 MiB) a second thread costs more than it saves; bundles always stay below.
constexpr std::size_t kParallelChunks = 64;

}  // namespace

Result<void> open(std::span<const std::uint8_t, kKeySize> key, std::span<const std::uint8_t> ciphertext,
                  std::span<std::uint8_t> out) {
  auto expected = plaintext_size(ciphertext.size());
  if (!expected) return std::move(expected).error();
  if (*expected != out.size()) std::abort();
  ensure_sodium();
  const std::size_t chunks = (ciphertext.size() + kEncryptedChunkSize - 1) / kEncryptedChunkSize;
  // Chunks are independent, so large payloads are opened by two threads, each on one half. Nothing
  // leaves `out` before every chunk has authenticated, so splitting the work changes no guarantee.
  std::size_t failed = chunks;
  if (chunks >= kParallelChunks && std::thread::hardware_concurrency() > 1) {
    const std::size_t middle = chunks / 2;
    std::size_t upper_failed = chunks;
    {
      std::jthread upper([&] { upper_failed = open_chunks(key, ciphertext, out, middle, chunks, chunks); });
      const std::size_t lower_failed = open_chunks(key, ciphertext, out, 0, middle, chunks);
      if (lower_failed != middle) failed = lower_failed;
    }
    if (failed == chunks) failed = upper_failed;
  } else {
    failed = open_chunks(key, ciphertext, out, 0, chunks, chunks);
  }
  if (failed == chunks) return {};
  sodium_memzero(out.data(), out.size());
  return payload_error(failed + 1 == chunks
                           ? "last chunk does not authenticate (tampered, truncated or extended)"
                           : "chunk does not authenticate (tampered or reordered)");
}

}  // namespace remo::crypto::stream
