#include "broker/core/audit_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace remo::core {

int AuditFile::open_path() {
  fd_.reset(::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600));
  if (!fd_) return errno;
  struct stat info {};
  if (::fstat(fd_.get(), &info) != 0) {
    const int error = errno;
    fd_.reset();
    return error;
  }
  open_identity_ = Identity{info.st_dev, info.st_ino};
  return 0;
}

bool AuditFile::path_still_names_open_file() const {
  struct stat open_file {};
  if (::fstat(fd_.get(), &open_file) != 0 || open_file.st_nlink == 0) return false;  // removed
  struct stat at_path {};
  if (::stat(path_.c_str(), &at_path) != 0) return false;  // renamed away, or its directory is gone
  return Identity{at_path.st_dev, at_path.st_ino} == open_identity_;
}

int AuditFile::ensure_open(Clock::time_point now, std::chrono::milliseconds check_interval) {
  if (fd_ && now - last_check_ >= check_interval) {
    last_check_ = now;
    if (!path_still_names_open_file()) fd_.reset();
  }
  if (fd_) return 0;
  last_check_ = now;
  return open_path();
}

AuditFile::AppendResult AuditFile::append(std::string_view text) {
  if (!fd_) return {0, EBADF};
  if (torn_line_in_ == open_identity_) {
    // End the fragment a failed write left, so the lines after it parse.
    if (::write(fd_.get(), "\n", 1) != 1) return {0, errno == 0 ? EIO : errno};
    torn_line_in_.reset();
  }

  struct stat before {};
  const bool size_known = ::fstat(fd_.get(), &before) == 0;
  std::size_t written = 0;
  int error = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd_.get(), text.data() + written, text.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      error = errno;
      break;
    }
    written += static_cast<std::size_t>(n);
  }
  const auto whole_lines_end = [&](std::size_t end) {
    const auto last_newline = text.substr(0, end).rfind('\n');
    return last_newline == std::string_view::npos ? 0 : last_newline + 1;
  };
  const std::size_t complete = error == 0 ? written : whole_lines_end(written);
  const auto lines = static_cast<std::size_t>(std::count(text.begin(), text.begin() + complete, '\n'));
  if (error == 0) return {lines, 0};

  if (complete < written) {
    // Cut the torn line off, but only if nobody else appended meanwhile (truncating then would lose
    // their bytes, or extend the file with zeros after a copytruncate rotation).
    struct stat after {};
    const auto expected_size = before.st_size + static_cast<off_t>(written);
    const bool cut = size_known && ::fstat(fd_.get(), &after) == 0 && after.st_size == expected_size &&
                     ::ftruncate(fd_.get(), before.st_size + static_cast<off_t>(complete)) == 0;
    if (!cut) torn_line_in_ = open_identity_;
  }
  return {lines, error};
}

}  // namespace remo::core
