// The daemon's global operator new and delete: every block the C++ heap hands back is wiped before it
// returns to malloc.
//
// Secrets live in secure memory, but on their way there they pass through code that copies into ordinary
// heap blocks and frees them as it goes: the JSON parser's token buffer (a claim-create value, a claim
// token), a string that grows while it is parsed (toml++, a base64 decoder), the old buffer of every
// reallocation. The broker wipes the fields it keeps; it cannot wipe what a library has already freed.
// Doing it here covers every such copy in one place, whatever library made it. The cost is one memset
// per free of the block's usable size: a get frees a handful of blocks under 100 bytes.
//
// Only this executable replaces the operators (the libraries and their unit tests keep the standard
// ones), and it replaces every replaceable form: plain, array, aligned, sized and nothrow. libstdc++'s own
// array and nothrow forms would forward here, but a sanitizer runtime defines them all itself, and a
// nothrow new from it paired with a delete from here is a mismatch ASan aborts on. malloc and free called
// directly are not covered: C libraries, libsodium outside its secure allocator, and Asio's aligned
// handler and coroutine-frame memory (aligned_alloc, recycled per thread rather than freed).
#include <malloc.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>

namespace {

// Wipes the whole block malloc reserved (at least what was asked for), then frees it. LineBuffer and
// ReplyBuffer, which wipe with their own allocator, are wiped twice: harmless.
void release(void* block) noexcept {
  if (block == nullptr) return;
  ::explicit_bzero(block, ::malloc_usable_size(block));
  std::free(block);
}

void* try_allocate(std::size_t size, std::size_t alignment) noexcept {
  if (size == 0) size = 1;
  if (alignment <= alignof(std::max_align_t)) return std::malloc(size);
  void* block = nullptr;
  return ::posix_memalign(&block, alignment, size) == 0 ? block : nullptr;
}

// The standard's loop: on failure the new-handler may free memory for another try; without one, throw.
void* allocate(std::size_t size, std::size_t alignment) {
  for (;;) {
    if (void* block = try_allocate(size, alignment)) return block;
    const std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) throw std::bad_alloc();
    handler();
  }
}

void* allocate_or_null(std::size_t size, std::size_t alignment) noexcept {
  try {
    return allocate(size, alignment);
  } catch (...) {  // the new-handler's bad_alloc, or our own
    return nullptr;
  }
}

}  // namespace

void* operator new(std::size_t size) { return allocate(size, alignof(std::max_align_t)); }
void* operator new[](std::size_t size) { return allocate(size, alignof(std::max_align_t)); }
void* operator new(std::size_t size, std::align_val_t alignment) {
  return allocate(size, static_cast<std::size_t>(alignment));
}
void* operator new[](std::size_t size, std::align_val_t alignment) {
  return allocate(size, static_cast<std::size_t>(alignment));
}

void* operator new(std::size_t size, const std::nothrow_t& /*tag*/) noexcept {
  return allocate_or_null(size, alignof(std::max_align_t));
}
void* operator new[](std::size_t size, const std::nothrow_t& /*tag*/) noexcept {
  return allocate_or_null(size, alignof(std::max_align_t));
}
void* operator new(std::size_t size, std::align_val_t alignment, const std::nothrow_t& /*tag*/) noexcept {
  return allocate_or_null(size, static_cast<std::size_t>(alignment));
}
void* operator new[](std::size_t size, std::align_val_t alignment, const std::nothrow_t& /*tag*/) noexcept {
  return allocate_or_null(size, static_cast<std::size_t>(alignment));
}

void operator delete(void* block) noexcept { release(block); }
void operator delete[](void* block) noexcept { release(block); }
void operator delete(void* block, std::size_t /*size*/) noexcept { release(block); }
void operator delete[](void* block, std::size_t /*size*/) noexcept { release(block); }
void operator delete(void* block, std::align_val_t /*alignment*/) noexcept { release(block); }
void operator delete[](void* block, std::align_val_t /*alignment*/) noexcept { release(block); }
void operator delete(void* block, std::size_t /*size*/, std::align_val_t /*alignment*/) noexcept {
  release(block);
}
void operator delete[](void* block, std::size_t /*size*/, std::align_val_t /*alignment*/) noexcept {
  release(block);
}
void operator delete(void* block, const std::nothrow_t& /*tag*/) noexcept { release(block); }
void operator delete[](void* block, const std::nothrow_t& /*tag*/) noexcept { release(block); }
void operator delete(void* block, std::align_val_t /*alignment*/, const std::nothrow_t& /*tag*/) noexcept {
  release(block);
}
void operator delete[](void* block, std::align_val_t /*alignment*/, const std::nothrow_t& /*tag*/) noexcept {
  release(block);
}
