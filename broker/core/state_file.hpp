// Atomic, durable file updates: write a temp file in the same directory, fsync it, rename over the
// target, fsync the directory. A crash at any instant leaves the old file or the new one.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "broker/common/result.hpp"

namespace remo::core {

// Errors carry code "internal_error" and a message naming the path and errno text.
Result<void> write_file_atomically(const std::filesystem::path& path, std::span<const std::uint8_t> bytes,
                                   unsigned mode = 0600);
Result<void> write_file_atomically(const std::filesystem::path& path, std::string_view text,
                                   unsigned mode = 0600);

// Writes every byte to fd, retrying short writes and EINTR. Returns 0, or the errno of the failure.
int write_all(int fd, std::span<const std::uint8_t> bytes);

// A rename, creation or unlink is durable only once the directory entry itself is on disk.
Result<void> fsync_directory(const std::filesystem::path& dir);

// Reads a whole file; std::nullopt when it does not exist, an error for anything else.
Result<std::optional<std::vector<std::uint8_t>>> read_file_if_exists(const std::filesystem::path& path);

// Overwrites the file's bytes with zeros, fsyncs, unlinks, fsyncs the directory. Absent file: ok.
Result<void> shred_file(const std::filesystem::path& path);

// Creates the directory (and parents) if missing, with the given mode for the leaf.
Result<void> ensure_directory(const std::filesystem::path& dir, unsigned mode = 0700);

}  // namespace remo::core
