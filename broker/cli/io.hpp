// Reading inputs and writing outputs for the commands. "-" (or an empty path) means stdin/stdout.
// Secrets are read straight into secure memory; outputs are written in one piece, to a file only through
// write_file_safely (output_file.hpp: atomic, 0600-born, never through a symlink, FIFO or device), so a
// failed command leaves no partial output behind. Error messages name the path and the system error,
// never the content.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <span>
#include <string_view>

#include "broker/common/result.hpp"
#include "broker/crypto/secure_buffer.hpp"

namespace remo::cli {

// Non-secret input bytes (ciphertext). A large regular file is mapped read-only (no copy); other
// inputs are read into an anonymous mapping populated up front. Faulting tens of MiB in page by page
// costs more than decrypting them. (A file truncated by someone else while mapped raises SIGBUS:
// the command dies without output, which keeps the all-or-nothing promise.)
class InputBytes {
 public:
  explicit InputBytes(std::size_t capacity);
  // Maps size bytes of the regular file fd; throws std::bad_alloc when mmap fails.
  static InputBytes map_file(int fd, std::size_t size);
  ~InputBytes();
  InputBytes(InputBytes&& other) noexcept;
  InputBytes& operator=(InputBytes&& other) noexcept;
  InputBytes(const InputBytes&) = delete;
  InputBytes& operator=(const InputBytes&) = delete;

  std::uint8_t* data() noexcept { return data_; }
  std::size_t capacity() const noexcept { return capacity_; }
  void set_size(std::size_t size) noexcept { size_ = size; }
  std::span<const std::uint8_t> span() const noexcept { return {data_, size_}; }

 private:
  std::uint8_t* data_ = nullptr;
  std::size_t capacity_ = 0;
  std::size_t size_ = 0;
};

bool is_stdio(std::string_view path) noexcept;

// A secret (identity file, plaintext), read into secure memory. Error code "io".
Result<crypto::SecureBuffer> read_secret(std::string_view path);

// Ciphertext or a recipients file. Error code "io".
Result<InputBytes> read_bytes(std::string_view path);

// Writes data to stdout ("-" or empty), or replaces path atomically with a regular file of the given
// mode. A path that is a symbolic link, FIFO, device or directory is refused (output_file.hpp).
Result<void> write_output(std::string_view path, std::span<const std::uint8_t> data, mode_t mode);

// Creates path, which must not exist yet (not even as a dangling symbolic link), with mode and data.
Result<void> create_new_file(std::string_view path, std::span<const std::uint8_t> data, mode_t mode);

}  // namespace remo::cli
