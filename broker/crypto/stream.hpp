// STREAM (Hoang, Reyhanitabar, Rogaway, Vizár) as age uses it: the payload is cut into 64 KiB chunks,
// each sealed with ChaCha20-Poly1305 under the payload key and a nonce of an 11-byte big-endian chunk
// counter followed by a flag byte that is 1 only for the last chunk. Truncation, reordering and
// extension are therefore all detected.
//
// The whole payload is in memory, so chunk boundaries follow from its length alone: the last chunk is
// whatever remains after the full ones (a full chunk if the length is an exact multiple). Chunks are
// independent, so open() splits payloads of 4 MiB and more between two threads.
#pragma once

#include <cstdint>
#include <span>

#include "broker/common/result.hpp"

namespace remo::crypto::stream {

inline constexpr std::size_t kKeySize = 32;
inline constexpr std::size_t kChunkSize = 64 * 1024;
inline constexpr std::size_t kTagSize = 16;
inline constexpr std::size_t kEncryptedChunkSize = kChunkSize + kTagSize;
inline constexpr std::size_t kNonceSize = 12;
inline constexpr std::uint8_t kLastChunkFlag = 0x01;

// Size of the sealed payload for a plaintext of n bytes (an empty plaintext is one empty chunk).
std::size_t ciphertext_size(std::size_t plaintext_size) noexcept;

// Size of the plaintext inside a sealed payload of n bytes; error "payload" when no well-formed
// sequence of chunks has that length (a stray partial chunk, or an empty last chunk after full ones).
Result<std::size_t> plaintext_size(std::size_t ciphertext_size);

// Seals plaintext into out, which must be exactly ciphertext_size(plaintext.size()) bytes.
void seal(std::span<const std::uint8_t, kKeySize> key, std::span<const std::uint8_t> plaintext,
          std::span<std::uint8_t> out);

// Opens ciphertext into out, which must be exactly plaintext_size(ciphertext.size()) bytes. On
// failure ("payload") out has been wiped: no chunk of an unauthenticated file is left behind.
Result<void> open(std::span<const std::uint8_t, kKeySize> key, std::span<const std::uint8_t> ciphertext,
                  std::span<std::uint8_t> out);

}  // namespace remo::crypto::stream
