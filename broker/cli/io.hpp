// Reading inputs and writing outputs for the commands. "-" (or an empty path) means stdin/stdout.
// Secrets are read straight into secure memory; outputs are written in one piece, to a file only
// atomically (temporary file, fsync, rename, fsync of the directory), so a failed command leaves no
// partial output behind. Error messages name the path and the system error, never the content.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "broker/common/result.hpp"
#include "broker/crypto/secure_buffer.hpp"

namespace remo::cli {

// Non-secret input bytes (ciphertext), read without zero-filling first.
class InputBytes {
 public:
  InputBytes() = default;
  InputBytes(std::unique_ptr<std::uint8_t[]> data, std::size_t size) : data_(std::move(data)), size_(size) {}
  std::span<const std::uint8_t> span() const noexcept { return {data_.get(), size_}; }

 private:
  std::unique_ptr<std::uint8_t[]> data_;
  std::size_t size_ = 0;
};

bool is_stdio(std::string_view path) noexcept;

// A secret (identity file, plaintext), read into secure memory. Error code "io".
Result<crypto::SecureBuffer> read_secret(std::string_view path);

// Ciphertext or a recipients file. Error code "io".
Result<InputBytes> read_bytes(std::string_view path);

// Writes data to stdout, or replaces path atomically with a file of the given mode. A path that
// exists and is not a regular file (a device such as /dev/null, a FIFO) is written in place.
Result<void> write_output(std::string_view path, std::span<const std::uint8_t> data, mode_t mode);

// Creates path, which must not exist yet, with mode and data (refuses to follow a symlink).
Result<void> create_new_file(std::string_view path, std::span<const std::uint8_t> data, mode_t mode);

}  // namespace remo::cli
