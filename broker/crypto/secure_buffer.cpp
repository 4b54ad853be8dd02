#include "broker/crypto/secure_buffer.hpp"

#include <sodium.h>
#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

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

std::size_t page_size() { return static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)); }

// [guard page][inner: size rounded up to pages][guard page], excluded from core dumps and mlocked when
// RLIMIT_MEMLOCK allows (like sodium_malloc, carry on unlocked otherwise; mlock also faults the pages in,
// in one go). With huge_aligned, the inner region starts on a huge-page boundary so the kernel can back
// it with transparent huge pages: a whole decrypted bundle is written once, and 4 KiB pages make that
// TLB-bound. Throws std::bad_alloc.
struct GuardedMapping {
  std::uint8_t* base = nullptr;  // the lower guard page
  std::size_t total = 0;         // both guard pages included
  std::uint8_t* inner() const { return base + page_size(); }
  std::size_t inner_size() const { return total - 2 * page_size(); }
};

GuardedMapping map_guarded(std::size_t size, bool huge_aligned) {
  const std::size_t page = page_size();
  const std::size_t inner = (size + page - 1) / page * page;
  const std::size_t slack = huge_aligned ? kHugePageSize : 0;
  void* raw =
      ::mmap(nullptr, inner + 2 * page + slack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  auto* raw_bytes = static_cast<std::uint8_t*>(raw);
  std::uint8_t* bytes = raw_bytes;
  const std::size_t total = inner + 2 * page;
  if (huge_aligned) {
    const auto raw_address = reinterpret_cast<std::uintptr_t>(raw_bytes);  // NOLINT: alignment arithmetic
    const std::uintptr_t inner_address = (raw_address + page + slack - 1) / slack * slack;
    bytes = raw_bytes + (inner_address - raw_address) - page;
    // Give back the slack on both sides of [guard][inner][guard].
    if (bytes > raw_bytes) ::munmap(raw_bytes, static_cast<std::size_t>(bytes - raw_bytes));
    const std::size_t tail = static_cast<std::size_t>(raw_bytes + inner + 2 * page + slack - (bytes + total));
    if (tail > 0) ::munmap(bytes + total, tail);
  }
  if (::mprotect(bytes, page, PROT_NONE) != 0 || ::mprotect(bytes + page + inner, page, PROT_NONE) != 0) {
    ::munmap(bytes, total);
    throw std::bad_alloc();
  }
  ::madvise(bytes + page, inner, MADV_DONTDUMP);
  if (huge_aligned) ::madvise(bytes + page, inner, MADV_HUGEPAGE);
  if (::mlock(bytes + page, inner) != 0) ::madvise(bytes + page, inner, MADV_WILLNEED);
  return GuardedMapping{bytes, total};
}

void unmap_guarded(void* base, std::size_t total) noexcept {
  const GuardedMapping mapping{static_cast<std::uint8_t*>(base), total};
  sodium_memzero(mapping.inner(), mapping.inner_size());
  ::munlock(mapping.inner(), mapping.inner_size());
  ::munmap(base, total);
}

// Small buffers (tokens, keys, most secret values) come from slabs of guarded, mlocked, undumpable
// memory, one size class per slab, instead of one sodium_malloc each. sodium_malloc maps, mprotects and
// mlocks per buffer, and sodium_free unmaps: on a virtual machine each of those is a TLB shootdown
// across every CPU, which made allocation the bulk of a one-shot claim's cost. A block is wiped when it
// is given back, so a block handed out is always zero. Slabs are kept for the life of the process (the
// pool never shrinks: it is bounded by the peak number of small secrets alive at once). What is lost
// against sodium_malloc: no guard page or canary between two blocks of one slab.
class SmallPool {
 public:
  static constexpr std::size_t kMinClass = 32;
  static constexpr std::size_t kClasses = 10;  // 32, 64, ..., 16384 bytes (a bundle, a push request)
  static constexpr std::size_t kMaxSize = kMinClass << (kClasses - 1);
  static constexpr std::size_t kSlabSize = 64 * 1024;

  static SmallPool& instance() {
    static SmallPool* const pool = new SmallPool;  // never destroyed: buffers in static storage outlive it
    return *pool;
  }

  static std::size_t class_of(std::size_t size) {
    std::size_t index = 0;
    while ((kMinClass << index) < size) ++index;
    return index;
  }
  static std::size_t class_size(std::size_t index) { return kMinClass << index; }

  std::uint8_t* take(std::size_t index) {
    const std::lock_guard lock(mutex_);
    auto& free = free_[index];
    if (free.empty()) {
      const GuardedMapping slab = map_guarded(kSlabSize, false);
      const std::size_t block = class_size(index);
      free.reserve(free.size() + kSlabSize / block);
      // Handed out from the top of the slab down, so the last block of a slab borders its upper guard page.
      for (std::size_t offset = 0; offset + block <= slab.inner_size(); offset += block) {
        free.push_back(slab.inner() + offset);
      }
    }
    std::uint8_t* out = free.back();
    free.pop_back();
    return out;
  }

  void give_back(std::uint8_t* block, std::size_t index) noexcept {
    sodium_memzero(block, class_size(index));
    const std::lock_guard lock(mutex_);
    try {
      free_[index].push_back(block);
    } catch (...) {  // no memory to remember it: the block stays wiped and unused
    }
  }

 private:
  std::mutex mutex_;
  std::array<std::vector<std::uint8_t*>, kClasses> free_;
};

}  // namespace

SecureBuffer::SecureBuffer(std::size_t size) : SecureBuffer(for_overwrite(size)) {
  // Fresh mappings are zero and pool blocks are wiped when given back; only sodium_malloc needs this.
  if (mapping_ == nullptr && pool_class_ == 0) sodium_memzero(data_, size == 0 ? 1 : size);
}

SecureBuffer SecureBuffer::for_overwrite(std::size_t size) {
  ensure_sodium();
  SecureBuffer out;
  out.size_ = size;
  if (size >= kDedicatedMappingThreshold) {
    // The data ends at the upper guard page so an overflow faults at once, as with sodium_malloc.
    const GuardedMapping mapping = map_guarded(size, true);
    out.mapping_ = mapping.base;
    out.mapping_size_ = mapping.total;
    out.data_ = mapping.inner() + (mapping.inner_size() - size);
    return out;
  }
  if (size <= SmallPool::kMaxSize) {
    const std::size_t index = SmallPool::class_of(size == 0 ? 1 : size);
    out.data_ = SmallPool::instance().take(index);
    out.pool_class_ = static_cast<std::uint8_t>(index + 1);
    return out;
  }
  // sodium_malloc fills the bytes with a fixed pattern, so nothing uninitialised is ever exposed.
  void* p = sodium_malloc(size);
  if (p == nullptr) {
    out.size_ = 0;
    throw std::bad_alloc();
  }
  out.data_ = static_cast<std::uint8_t*>(p);
  return out;
}

SecureBuffer::~SecureBuffer() { reset(); }

SecureBuffer::SecureBuffer(SecureBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      mapping_(std::exchange(other.mapping_, nullptr)),
      mapping_size_(std::exchange(other.mapping_size_, 0)),
      pool_class_(std::exchange(other.pool_class_, 0)) {}

SecureBuffer& SecureBuffer::operator=(SecureBuffer&& other) noexcept {
  if (this != &other) {
    reset();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapping_ = std::exchange(other.mapping_, nullptr);
    mapping_size_ = std::exchange(other.mapping_size_, 0);
    pool_class_ = std::exchange(other.pool_class_, 0);
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
    unmap_guarded(mapping_, mapping_size_);
    mapping_ = nullptr;
    mapping_size_ = 0;
  } else if (pool_class_ != 0) {
    SmallPool::instance().give_back(data_, pool_class_ - 1u);
    pool_class_ = 0;
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
