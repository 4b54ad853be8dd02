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
// ones): the plain and aligned forms, and their sized deletes, which the compiler calls directly;
// libstdc++'s array and nothrow forms call these. malloc and free called directly (C libraries, libsodium
// outside its secure allocator) are not covered; the broker's own code allocates through the C++ heap.
#include <malloc.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>

namespace {

void wipe_block(void* block) noexcept {
  if (block != nullptr) ::explicit_bzero(block, ::malloc_usable_size(block));
}

// The standard's loop: on failure the new-handler may free memory for another try; without one, throw.
void* allocate(std::size_t size, std::size_t alignment) {
  if (size == 0) size = 1;
  for (;;) {
    void* block = nullptr;
    if (alignment <= alignof(std::max_align_t)) {
      block = std::malloc(size);
    } else if (::posix_memalign(&block, alignment, size) != 0) {
      block = nullptr;
    }
    if (block != nullptr) return block;
    const std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) throw std::bad_alloc();
    handler();
  }
}

}  // namespace

void* operator new(std::size_t size) { return allocate(size, alignof(std::max_align_t)); }

void* operator new(std::size_t size, std::align_val_t alignment) {
  return allocate(size, static_cast<std::size_t>(alignment));
}

void operator delete(void* block) noexcept {
  wipe_block(block);
  std::free(block);
}

void operator delete(void* block, std::align_val_t /*alignment*/) noexcept {
  wipe_block(block);
  std::free(block);
}

void operator delete(void* block, std::size_t /*size*/) noexcept { ::operator delete(block); }

void operator delete(void* block, std::size_t /*size*/, std::align_val_t alignment) noexcept {
  ::operator delete(block, alignment);
}
