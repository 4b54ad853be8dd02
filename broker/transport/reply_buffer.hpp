// ReplyBuffer: reply lines on their way to a client. A get reply carries a secret value, so every block of
// memory this buffer ever holds is wiped before it goes back to the heap (growth included), and the session
// wipes the content itself as soon as it has been written (see wipe()).
#pragma once

#include <sodium.h>

#include <cstddef>
#include <memory>
#include <string>

namespace remo::server {

template <class T>
struct WipingAllocator {
  using value_type = T;

  WipingAllocator() noexcept = default;
  template <class U>
  WipingAllocator(const WipingAllocator<U>& /*other*/) noexcept {}  // NOLINT: rebinding is implicit

  T* allocate(std::size_t n) { return std::allocator<T>{}.allocate(n); }
  void deallocate(T* p, std::size_t n) noexcept {
    sodium_memzero(p, n * sizeof(T));
    std::allocator<T>{}.deallocate(p, n);
  }

  template <class U>
  bool operator==(const WipingAllocator<U>& /*other*/) const noexcept {
    return true;
  }
};

using ReplyBuffer = std::basic_string<char, std::char_traits<char>, WipingAllocator<char>>;

// Zeroes the content (including the short-string bytes kept inside the object) and empties the buffer;
// the capacity stays for the next replies.
inline void wipe(ReplyBuffer& buffer) noexcept {
  sodium_memzero(buffer.data(), buffer.size());
  buffer.clear();
}

}  // namespace remo::server
