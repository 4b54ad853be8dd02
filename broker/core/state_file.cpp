#include "broker/core/state_file.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <string>
#include <system_error>

#include "broker/core/unique_fd.hpp"
#include "broker/crypto/secure_buffer.hpp"
#include "protocol/codes.hpp"

namespace remo::core {
namespace {

namespace fs = std::filesystem;

Error errno_error(const fs::path& path, std::string_view step, int error_number) {
  return Error{
      std::string(protocol::code::kInternalError),
      path.string() + ": " + std::generic_category().message(error_number) + " (" + std::string(step) + ")"};
}

Error errno_error(const fs::path& path, std::string_view step) { return errno_error(path, step, errno); }

Error not_regular_file(const fs::path& path) {
  return Error{std::string(protocol::code::kInternalError), path.string() + ": not a regular file"};
}

fs::path directory_of(const fs::path& path) {
  const auto parent = path.parent_path();
  return parent.empty() ? fs::path(".") : parent;
}

std::string random_suffix() {
  crypto::ensure_sodium();
  std::array<unsigned char, 8> random{};
  randombytes_buf(random.data(), random.size());
  std::array<char, random.size() * 2 + 1> hex{};
  sodium_bin2hex(hex.data(), hex.size(), random.data(), random.size());
  return std::string(hex.data(), random.size() * 2);
}

// Removes the temp file unless it was renamed into place.
class TempFile {
 public:
  explicit TempFile(fs::path path) : path_(std::move(path)) {}
  ~TempFile() {
    if (!committed_) ::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const fs::path& path() const noexcept { return path_; }
  void commit() noexcept { committed_ = true; }

 private:
  fs::path path_;
  bool committed_ = false;
};

}  // namespace

int write_all(int fd, std::span<const std::uint8_t> bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    bytes = bytes.subspan(static_cast<std::size_t>(n));
  }
  return 0;
}

Result<void> fsync_directory(const fs::path& dir) {
  const UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return errno_error(dir, "open directory");
  if (::fsync(fd.get()) != 0) return errno_error(dir, "fsync directory");
  return {};
}

Result<void> write_file_atomically(const fs::path& path, std::span<const std::uint8_t> bytes, unsigned mode) {
  const fs::path dir = directory_of(path);
  std::string temp_name = ".";
  temp_name += path.filename().string();
  temp_name += ".tmp-";
  temp_name += random_suffix();
  const fs::path temp_path = dir / temp_name;

  UniqueFd fd(::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) return errno_error(path, "create temp file");
  TempFile temp(temp_path);

  // fchmod rather than the open() mode: the umask must not decide the final permissions.
  if (::fchmod(fd.get(), static_cast<mode_t>(mode)) != 0) return errno_error(path, "chmod temp file");
  if (const int error = write_all(fd.get(), bytes); error != 0) return errno_error(path, "write", error);
  if (::fsync(fd.get()) != 0) return errno_error(path, "fsync");
  if (fd.close() != 0) return errno_error(path, "close");
  if (::rename(temp_path.c_str(), path.c_str()) != 0) return errno_error(path, "rename");
  temp.commit();
  return fsync_directory(dir);
}

Result<void> write_file_atomically(const fs::path& path, std::string_view text, unsigned mode) {
  return write_file_atomically(
      path,
      std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(text.data()),  // NOLINT: byte view
                                    text.size()),
      mode);
}

Result<std::optional<std::vector<std::uint8_t>>> read_file_if_exists(const fs::path& path) {
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd) {
    if (errno == ENOENT) return std::optional<std::vector<std::uint8_t>>{};
    return errno_error(path, "open");
  }
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) return errno_error(path, "stat");
  if (!S_ISREG(info.st_mode)) return not_regular_file(path);

  std::vector<std::uint8_t> bytes;
  bytes.reserve(static_cast<std::size_t>(info.st_size));
  std::array<std::uint8_t, 64 * 1024> chunk{};
  for (;;) {
    const ssize_t n = ::read(fd.get(), chunk.data(), chunk.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(path, "read");
    }
    if (n == 0) break;
    bytes.insert(bytes.end(), chunk.begin(), chunk.begin() + n);
  }
  return std::optional<std::vector<std::uint8_t>>(std::move(bytes));
}

// Zeroing in place defeats a later read of the freed blocks on ordinary filesystems; on copy-on-write
// or log-structured storage the old blocks may survive, which is why state on disk is only ever
// ciphertext and this is a second line of defence.
Result<void> shred_file(const fs::path& path) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  if (!fd) {
    if (errno == ENOENT) return {};
    return errno_error(path, "open");
  }
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) return errno_error(path, "stat");
  if (!S_ISREG(info.st_mode)) return not_regular_file(path);

  static constexpr std::array<std::uint8_t, 64 * 1024> kZeros{};
  auto remaining = static_cast<std::uint64_t>(info.st_size);
  off_t offset = 0;
  while (remaining > 0) {
    const std::size_t len = remaining < kZeros.size() ? static_cast<std::size_t>(remaining) : kZeros.size();
    const ssize_t n = ::pwrite(fd.get(), kZeros.data(), len, offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(path, "overwrite");
    }
    offset += n;
    remaining -= static_cast<std::uint64_t>(n);
  }
  if (::fsync(fd.get()) != 0) return errno_error(path, "fsync");
  if (fd.close() != 0) return errno_error(path, "close");
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return errno_error(path, "unlink");
  return fsync_directory(directory_of(path));
}

Result<void> ensure_directory(const fs::path& requested, unsigned mode) {
  // "a/b/" names the directory "a/b".
  const fs::path dir = requested.has_filename() ? requested : requested.parent_path();
  const auto existing_directory = [&dir]() -> Result<void> {
    struct stat info {};
    if (::stat(dir.c_str(), &info) != 0) return errno_error(dir, "stat");
    if (!S_ISDIR(info.st_mode)) return errno_error(dir, "create directory", ENOTDIR);
    return {};  // an existing directory keeps the mode its owner gave it
  };

  if (::mkdir(dir.c_str(), static_cast<mode_t>(mode)) != 0) {
    if (errno == EEXIST) return existing_directory();
    if (errno != ENOENT) return errno_error(dir, "create directory");
    std::error_code error;
    fs::create_directories(dir.parent_path(), error);
    if (error) return errno_error(dir.parent_path(), "create directory", error.value());
    if (::mkdir(dir.c_str(), static_cast<mode_t>(mode)) != 0) {
      if (errno == EEXIST) return existing_directory();  // lost a race with another creator
      return errno_error(dir, "create directory");
    }
  }
  // mkdir's mode is filtered by the umask; set exactly what was asked for.
  if (::chmod(dir.c_str(), static_cast<mode_t>(mode)) != 0) return errno_error(dir, "chmod");
  return {};
}

}  // namespace remo::core
