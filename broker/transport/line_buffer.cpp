#include "broker/transport/line_buffer.hpp"

#include <sodium.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <new>

namespace remo::server {

char* LineAllocator::allocate(std::size_t n) {
  if (n < kMappedFrom) return std::allocator<char>{}.allocate(n);
  void* block = ::mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (block == MAP_FAILED) throw std::bad_alloc();
  return static_cast<char*>(block);
}

void LineAllocator::deallocate(char* block, std::size_t n) noexcept {
  sodium_memzero(block, n);
  if (n < kMappedFrom) {
    std::allocator<char>{}.deallocate(block, n);
  } else {
    ::munmap(block, n);
  }
}

// A buffer of its first size counts nothing against the budget (max_connections bounds those); a grown
// one counts in full.
void LineBuffer::resize(std::size_t capacity) {
  if (capacity < storage_.size()) {
    decltype(storage_)().swap(storage_);  // the allocator wipes the old block
    begin_ = end_ = scanned_ = 0;
  }
  storage_.resize(capacity);
  if (share_ != nullptr) share_->hold_lines(capacity > kInitialCapacity ? capacity : 0);
}

std::span<char> LineBuffer::prepare() {
  const std::size_t pending = end_ - begin_;
  if (pending == 0 && storage_.size() > kInitialCapacity) {
    resize(kInitialCapacity);  // the long line is answered: its memory goes back
    return {storage_.data(), storage_.size()};
  }
  if (begin_ > 0 && (pending == 0 || storage_.size() - end_ < kMinRead)) {
    // Move the unanswered bytes to the front, and wipe what they leave behind.
    std::memmove(storage_.data(), storage_.data() + begin_, pending);
    sodium_memzero(storage_.data() + pending, end_ - pending);
    begin_ = 0;
    end_ = pending;
  }
  const std::size_t max_capacity = limit_ + 1;  // one whole line and its '\n'
  if (storage_.size() - end_ < kMinRead && storage_.size() < max_capacity) {
    resize(std::min(std::max(storage_.size() * 2, kInitialCapacity), max_capacity));
  }
  return {storage_.data() + end_, storage_.size() - end_};
}

bool LineBuffer::has_line() noexcept {
  if (overflowed_ || end_ == begin_) return false;
  const char* const base = storage_.data() + begin_;
  const std::size_t pending = end_ - begin_;
  const void* newline = std::memchr(base + scanned_, '\n', pending - scanned_);
  if (newline == nullptr) {
    scanned_ = pending;
    overflowed_ = pending > limit_;
    return false;
  }
  scanned_ = static_cast<std::size_t>(static_cast<const char*>(newline) - base);
  return true;
}

std::optional<std::string_view> LineBuffer::next_line() noexcept {
  if (!has_line()) return std::nullopt;
  const std::size_t length = scanned_;  // has_line() stopped at the '\n'
  if (length > limit_) {
    overflowed_ = true;
    return std::nullopt;
  }
  std::string_view line(storage_.data() + begin_, length);
  begin_ += length + 1;
  scanned_ = 0;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace remo::server
