// AuditFile: the append-only file under the audit log. It notices when the file it has open was removed
// or renamed away (an operator's rm or mv) and re-opens the path, and it never leaves a torn JSON line
// behind a failed write. With a size limit it rotates by itself: the file never grows past rotate_bytes
// (unless one line is longer), then becomes path.1, path.1 becomes path.2, ..., and path.<keep_files> is
// replaced; so the files take at most (keep_files + 1) * rotate_bytes + reserve_bytes on disk. With a
// reserve it keeps that many bytes allocated beyond the end of the file (fallocate), so the lines of
// requests admitted while the reserve was whole still fit when something else fills the filesystem.
// Used by the audit writer thread only; not thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>

#include "broker/core/unique_fd.hpp"

namespace remo::core {

class AuditFile {
 public:
  using Clock = std::chrono::steady_clock;

  struct Limits {
    std::uint64_t rotate_bytes = 0;  // 0: never rotate
    unsigned keep_files = 1;         // rotated files kept: path.1 .. path.<keep_files> (at least 1)
    std::uint64_t reserve_bytes = 0;
  };

  explicit AuditFile(std::filesystem::path path) : path_(std::move(path)) {}
  AuditFile(std::filesystem::path path, Limits limits) : path_(std::move(path)), limits_(limits) {}

  // Opens the file if it is not open. If it is, and check_interval has passed since the last check,
  // re-opens it when the path no longer names the open file. Returns 0 or an errno value.
  int ensure_open(Clock::time_point now, std::chrono::milliseconds check_interval);

  struct AppendResult {
    std::size_t lines_written = 0;  // complete lines now in the file, from the start of text
    int error = 0;                  // 0, or the errno of the failure
  };
  // Appends text made of '\n'-terminated lines. On failure the lines written whole stay; a line cut by a
  // short write is cut off again (or, if that fails, terminated before the next append to that file).
  // With rotate_bytes set, the text is split at line ends and the file rotated where it would outgrow it.
  AppendResult append(std::string_view text);

  // Allocates reserve_bytes beyond the end of the open file, if not already. Returns 0 or an errno
  // value (ENOSPC: the filesystem cannot hold the reserve). 0 where the filesystem cannot preallocate.
  // Opening the file does not allocate it: the caller appends first, so that lines written while the
  // disk is full go into what is left of the reserve, then tops it up.
  int ensure_reserve();
  // The reserve this file keeps: reserve_bytes, or less on a small filesystem; 0 without preallocation.
  std::uint64_t reserve_size() const noexcept { return can_preallocate_ ? reserve_size_ : 0; }

  void close() noexcept { fd_.reset(); }
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  struct Identity {
    dev_t device;
    ino_t inode;
    friend bool operator==(const Identity&, const Identity&) = default;
  };
  int open_path();
  bool path_still_names_open_file() const;
  AppendResult append_lines(std::string_view text);
  int rotate();
  std::filesystem::path rotated_path(unsigned generation) const;

  std::filesystem::path path_;
  Limits limits_;
  UniqueFd fd_;
  std::uint64_t size_ = 0;          // bytes in the open file
  std::uint64_t reserved_end_ = 0;  // the open file has blocks allocated up to here
  bool can_preallocate_ = true;     // false once the filesystem said it cannot
  std::uint64_t reserve_size_ = limits_.reserve_bytes;
  Identity open_identity_{};
  Clock::time_point last_check_{};
  std::optional<Identity> torn_line_in_;  // a file whose last line lacks its '\n'
};

}  // namespace remo::core
