// AuditFile: the append-only file under the audit log. It notices when the file it has open was removed
// or renamed away (log rotation, an operator's rm) and re-opens the path, and it never leaves a torn
// JSON line behind a failed write. Used by the audit writer thread only; not thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string_view>

#include "broker/core/unique_fd.hpp"

namespace remo::core {

class AuditFile {
 public:
  using Clock = std::chrono::steady_clock;

  explicit AuditFile(std::filesystem::path path) : path_(std::move(path)) {}

  // Opens the file if it is not open. If it is, and check_interval has passed since the last check,
  // re-opens it when the path no longer names the open file. Returns 0 or an errno value.
  int ensure_open(Clock::time_point now, std::chrono::milliseconds check_interval);

  struct AppendResult {
    std::size_t lines_written = 0;  // complete lines now in the file, from the start of text
    int error = 0;                  // 0, or the errno of the failure
  };
  // Appends text made of '\n'-terminated lines. On failure the lines written whole stay; a line cut by a
  // short write is cut off again (or, if that fails, terminated before the next append to that file).
  AppendResult append(std::string_view text);

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

  std::filesystem::path path_;
  UniqueFd fd_;
  Identity open_identity_{};
  Clock::time_point last_check_{};
  std::optional<Identity> torn_line_in_;  // a file whose last line lacks its '\n'
};

}  // namespace remo::core
