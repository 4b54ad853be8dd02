// SecureBuffer: the only home for key material, file keys and plaintext secrets.
// mlocked, excluded from core dumps, wiped when freed, in memory with guard pages. Three homes by size:
// up to 16 KiB, a block of a pooled slab (guard pages around the slab, none between its blocks: a
// sodium_malloc per token, claimed value or pushed bundle cost TLB shootdowns on a VM); up to 1 MiB,
// sodium_malloc (guard pages and a canary per buffer); beyond, a dedicated mapping with guard pages,
// because sodium_malloc's fill passes cost more than decrypting the bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace remo::crypto {

class SecureBuffer {
 public:
  SecureBuffer() noexcept = default;
  // Allocates size bytes (zero-filled). Throws std::bad_alloc when sodium_malloc fails.
  explicit SecureBuffer(std::size_t size);
  ~SecureBuffer();

  SecureBuffer(SecureBuffer&& other) noexcept;
  SecureBuffer& operator=(SecureBuffer&& other) noexcept;
  SecureBuffer(const SecureBuffer&) = delete;
  SecureBuffer& operator=(const SecureBuffer&) = delete;

  // Allocates size bytes that the caller is about to overwrite completely: skips the zero fill,
  // which is a full extra pass over large plaintexts. The bytes hold zeros or libsodium's fill pattern,
  // never stale data.
  static SecureBuffer for_overwrite(std::size_t size);

  static SecureBuffer copy_of(std::span<const std::uint8_t> bytes);
  static SecureBuffer copy_of(std::string_view text);

  std::uint8_t* data() noexcept { return data_; }
  const std::uint8_t* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::span<std::uint8_t> span() noexcept { return {data_, size_}; }
  std::span<const std::uint8_t> span() const noexcept { return {data_, size_}; }
  std::string_view view() const noexcept {
    return {reinterpret_cast<const char*>(data_), size_};  // NOLINT: byte view of a byte buffer
  }

  // Keeps the first new_size bytes (new_size <= size()); the tail is wiped.
  void truncate(std::size_t new_size) noexcept;
  // Wipes and frees now.
  void reset() noexcept;
  // Constant-time comparison.
  bool equals(std::span<const std::uint8_t> other) const noexcept;

 private:
  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
  // The dedicated mapping of a large buffer (guard pages included); null for sodium_malloc ones.
  void* mapping_ = nullptr;
  std::size_t mapping_size_ = 0;
  std::uint8_t pool_class_ = 0;  // 1 + the size class of a pooled block; 0 otherwise
};

// Calls sodium_init once; safe to call from anywhere, any number of times. Aborts if libsodium
// cannot initialise (there is no safe way to continue without a CSPRNG).
void ensure_sodium();

}  // namespace remo::crypto
