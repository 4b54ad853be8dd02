#include "broker/core/audit_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>

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
  size_ = static_cast<std::uint64_t>(info.st_size);
  reserved_end_ = 0;
  return 0;  // the reserve is topped up after the next append: a full disk must not keep lines out of it
}

int AuditFile::ensure_reserve() {
  if (!fd_ || limits_.reserve_bytes == 0 || !can_preallocate_) return 0;
  // On a small filesystem the reserve is at most a quarter of it, so an empty one can always hold it.
  std::uint64_t reserve = limits_.reserve_bytes;
  struct statvfs fs {};
  if (::fstatvfs(fd_.get(), &fs) == 0)
    reserve = std::min<std::uint64_t>(reserve, fs.f_blocks * fs.f_frsize / 4);
  reserve_size_ = reserve;
  if (reserved_end_ >= size_ + reserve) return 0;
  const int result =
      ::fallocate(fd_.get(), FALLOC_FL_KEEP_SIZE, static_cast<off_t>(size_), static_cast<off_t>(reserve));
  if (result != 0) {
    if (errno == EOPNOTSUPP || errno == ENOSYS) {
      can_preallocate_ = false;
      return 0;
    }
    return errno;
  }
  reserved_end_ = size_ + reserve;
  return 0;
}

std::filesystem::path AuditFile::rotated_path(unsigned generation) const {
  auto rotated = path_;
  rotated += "." + std::to_string(generation);
  return rotated;
}

// path -> path.1 -> ... -> path.<keep_files> (replaced), then a new file at path.
int AuditFile::rotate() {
  if (fd_ && reserved_end_ > size_) {
    // The reserve goes to the new file, not the rotated one: truncating to the same size frees the blocks
    // allocated beyond the end (a hole punched past the end would not, on ext4).
    if (::ftruncate(fd_.get(), static_cast<off_t>(size_)) != 0) {
      // Not fatal: the rotated file keeps its reserve until it is rotated away.
    }
  }
  const unsigned keep = std::max(1U, limits_.keep_files);
  for (unsigned generation = keep; generation > 1; --generation) {
    const auto from = rotated_path(generation - 1);
    if (::rename(from.c_str(), rotated_path(generation).c_str()) != 0 && errno != ENOENT) return errno;
  }
  if (::rename(path_.c_str(), rotated_path(1).c_str()) != 0) return errno;
  fd_.reset();
  return open_path();
}

AuditFile::AppendResult AuditFile::append(std::string_view text) {
  if (limits_.rotate_bytes == 0) return append_lines(text);
  AppendResult total;
  while (!text.empty()) {
    // The longest run of whole lines that fits in what is left of rotate_bytes (at least one line).
    const std::uint64_t room = limits_.rotate_bytes > size_ ? limits_.rotate_bytes - size_ : 0;
    std::size_t end = 0;
    for (std::size_t next = 0; next < text.size();) {
      const std::size_t newline = text.find('\n', next);
      const std::size_t line_end = newline == std::string_view::npos ? text.size() : newline + 1;
      if (line_end > room && !(end == 0 && size_ == 0)) break;
      end = next = line_end;
    }
    if (end == 0) {  // the next line does not fit: start a new file
      if (const int error = rotate(); error != 0) return {total.lines_written, error};
      continue;
    }
    const AppendResult part = append_lines(text.substr(0, end));
    total.lines_written += part.lines_written;
    if (part.error != 0) return {total.lines_written, part.error};
    text.remove_prefix(end);
  }
  return total;
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

AuditFile::AppendResult AuditFile::append_lines(std::string_view text) {
  if (!fd_) return {0, EBADF};
  if (torn_line_in_ == open_identity_) {
    // End the fragment a failed write left, so the lines after it parse.
    if (::write(fd_.get(), "\n", 1) != 1) return {0, errno == 0 ? EIO : errno};
    ++size_;
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
  size_ += written;
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
    if (cut) size_ -= written - complete;
    if (!cut) torn_line_in_ = open_identity_;
  }
  return {lines, error};
}

}  // namespace remo::core
