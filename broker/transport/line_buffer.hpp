// LineBuffer: the bytes one client has sent, cut into '\n'-terminated request lines of at most `limit`
// bytes (the '\n' not counted; a '\r' before it is dropped). It holds at most one line's worth beyond what
// has been answered, so a client can make it grow to limit + 1 bytes and no further, and every byte it
// held is wiped before its memory is reused or freed. Once a line that did not fit its first allocation
// has been answered, the buffer goes back to that first allocation; the memory it holds beyond that counts
// against the broker's BufferBudget (see buffer_budget.hpp) through its Share.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "broker/transport/buffer_budget.hpp"

namespace remo::server {

// Memory for line buffers: the first allocation from the heap, any larger one mapped on its own pages, so
// that a flood of long lines leaves no holes in the heap and its memory goes back to the kernel the moment
// a buffer is freed. Every block is wiped before it is freed.
struct LineAllocator {
  using value_type = char;
  template <class U>
  struct rebind {  // a vector of char rebinds to char only
    using other = LineAllocator;
  };
  static constexpr std::size_t kMappedFrom = 8192;

  LineAllocator() noexcept = default;
  char* allocate(std::size_t n);
  void deallocate(char* block, std::size_t n) noexcept;
  bool operator==(const LineAllocator& /*other*/) const noexcept { return true; }
};

class LineBuffer {
 public:
  // share: the connection's part of the budget (none: nothing counted); it must outlive the buffer.
  explicit LineBuffer(std::size_t limit, BufferBudget::Share* share = nullptr)
      : limit_(limit), share_(share) {}

  // Free space to read into. Empty only once overflowed(). Invalidates the views next_line() returned.
  std::span<char> prepare();
  // Marks n bytes of the span prepare() returned as received.
  void commit(std::size_t n) noexcept { end_ += n; }

  // The next complete line, or nullopt when none is complete yet or the client broke the limit.
  std::optional<std::string_view> next_line() noexcept;
  // Whether next_line() would return a line (it also notices an overflow). Cheap to repeat: what has been
  // scanned once is not scanned again.
  bool has_line() noexcept;
  // True once the client sent more than `limit` bytes without a '\n': the connection must be closed.
  bool overflowed() const noexcept { return overflowed_; }
  // The bytes of memory the buffer holds.
  std::size_t capacity() const noexcept { return storage_.size(); }

 private:
  static constexpr std::size_t kInitialCapacity = 4096;
  static constexpr std::size_t kMinRead = 2048;

  void resize(std::size_t capacity);

  std::size_t limit_;
  BufferBudget::Share* share_;
  std::vector<char, LineAllocator> storage_;
  std::size_t begin_ = 0;    // first byte not yet returned in a line
  std::size_t end_ = 0;      // one past the last byte received
  std::size_t scanned_ = 0;  // bytes after begin_ already known to hold no '\n'
  bool overflowed_ = false;
};

}  // namespace remo::server
