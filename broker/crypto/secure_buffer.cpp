#include "broker/crypto/secure_buffer.hpp"

#include <sodium.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

namespace remo::crypto {

void ensure_sodium() {
  static const bool initialised = [] {
    if (sodium_init() < 0) {
      std::fputs("remo-broker: libsodium failed to initialise\n", stderr);
      std::abort();
    }
    return true;
  }();
  (void)initialised;
}

namespace {

// From this size on, a buffer gets its own mapping instead of sodium_malloc.
constexpr std::size_t kDedicatedMappingThreshold = 1024 * 1024;
constexpr std::size_t kHugePageSize = 2 * 1024 * 1024;

}  // namespace

SecureBuffer::SecureBuffer(std::size_t size) : SecureBuffer(for_overwrite(size)) {
  if (mapping_ == nullptr) sodium_memzero(data_, size == 0 ? 1 : size);  // fresh mappings are zero
}

SecureBuffer SecureBuffer::for_overwrite(std::size_t size) {
  ensure_sodium();
  if (size >= kDedicatedMappingThreshold) {
    // [guard page][size rounded up to pages][guard page]; the data ends at the upper guard page so
    // an overflow faults at once, as with sodium_malloc. The inner region starts on a huge-page
    // boundary so the kernel can back it with transparent huge pages: a whole decrypted bundle is
    // written once, and 4 KiB pages make that TLB-bound.
    const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    const std::size_t inner = (size + page - 1) / page * page;
    const std::size_t slack = kHugePageSize;
    void* raw =
        ::mmap(nullptr, inner + 2 * page + slack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) throw std::bad_alloc();
    auto* raw_bytes = static_cast<std::uint8_t*>(raw);
    const auto raw_address = reinterpret_cast<std::uintptr_t>(raw_bytes);  // NOLINT: alignment arithmetic
    const std::uintptr_t inner_address = (raw_address + page + slack - 1) / slack * slack;
    auto* bytes = raw_bytes + (inner_address - raw_address) - page;  // the lower guard page
    const std::size_t total = inner + 2 * page;
    // Give back the slack on both sides of [guard][inner][guard].
    if (bytes > raw_bytes) ::munmap(raw_bytes, static_cast<std::size_t>(bytes - raw_bytes));
    const std::size_t tail = static_cast<std::size_t>(raw_bytes + inner + 2 * page + slack - (bytes + total));
    if (tail > 0) ::munmap(bytes + total, tail);
    void* base = bytes;
    if (::mprotect(bytes, page, PROT_NONE) != 0 || ::mprotect(bytes + page + inner, page, PROT_NONE) != 0) {
      ::munmap(base, total);
      throw std::bad_alloc();
    }
    ::madvise(bytes + page, inner, MADV_DONTDUMP);
    ::madvise(bytes + page, inner, MADV_HUGEPAGE);
    // Like sodium_malloc, carry on unlocked if RLIMIT_MEMLOCK forbids it; mlock also faults the
    // pages in, in one go.
    if (::mlock(bytes + page, inner) != 0) ::madvise(bytes + page, inner, MADV_WILLNEED);
    SecureBuffer out;
    out.mapping_ = base;
    out.mapping_size_ = total;
    out.data_ = bytes + page + (inner - size);
    out.size_ = size;
    return out;
  }
  // sodium_malloc(0) is legal but we keep a real allocation so data() is never null when sized.
  // sodium_malloc fills the bytes with a fixed pattern, so nothing uninitialised is ever exposed.
  void* p = sodium_malloc(size == 0 ? 1 : size);
  if (p == nullptr) throw std::bad_alloc();
  SecureBuffer out;
  out.data_ = static_cast<std::uint8_t*>(p);
  out.size_ = size;
  return out;
}

SecureBuffer::~SecureBuffer() { reset(); }

SecureBuffer::SecureBuffer(SecureBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      mapping_(std::exchange(other.mapping_, nullptr)),
      mapping_size_(std::exchange(other.mapping_size_, 0)) {}

SecureBuffer& SecureBuffer::operator=(SecureBuffer&& other) noexcept {
  if (this != &other) {
    reset();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapping_ = std::exchange(other.mapping_, nullptr);
    mapping_size_ = std::exchange(other.mapping_size_, 0);
  }
  return *this;
}

SecureBuffer SecureBuffer::copy_of(std::span<const std::uint8_t> bytes) {
  SecureBuffer out(bytes.size());
  if (!bytes.empty()) std::memcpy(out.data_, bytes.data(), bytes.size());
  return out;
}

SecureBuffer SecureBuffer::copy_of(std::string_view text) {
  return copy_of(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(text.data()),
                                               text.size()));  // NOLINT
}

void SecureBuffer::truncate(std::size_t new_size) noexcept {
  if (new_size >= size_) return;
  sodium_memzero(data_ + new_size, size_ - new_size);
  size_ = new_size;
}

void SecureBuffer::reset() noexcept {
  if (mapping_ != nullptr) {
    const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    auto* inner = static_cast<std::uint8_t*>(mapping_) + page;
    const std::size_t inner_size = mapping_size_ - 2 * page;
    sodium_memzero(inner, inner_size);
    ::munlock(inner, inner_size);
    ::munmap(mapping_, mapping_size_);
    mapping_ = nullptr;
    mapping_size_ = 0;
  } else if (data_ != nullptr) {
    sodium_free(data_);  // sodium_free wipes before unmapping
  }
  data_ = nullptr;
  size_ = 0;
}

bool SecureBuffer::equals(std::span<const std::uint8_t> other) const noexcept {
  if (other.size() != size_) return false;
  if (size_ == 0) return true;
  return sodium_memcmp(data_, other.data(), size_) == 0;
}

}  // namespace remo::crypto
