#include "broker/cli/io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace remo::cli {
namespace {

constexpr std::size_t kInitialReadSize = 64 * 1024;

Error io_error(std::string_view what, std::string_view path, int err) {
  std::string where = is_stdio(path) ? std::string("standard input/output") : std::string(path);
  return make_error("io", std::string(what) + " " + where + ": " + std::strerror(err));
}

// Closes a descriptor on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const noexcept { return fd_; }
  int release() noexcept { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

// Reads fd to EOF into a buffer of the given kind, growing it by copying into a bigger one.
// Buffer must offer a (size) constructor, data() and size().
template <class Buffer, class Make>
Result<std::pair<Buffer, std::size_t>> read_all(int fd, std::string_view path, Make make) {
  std::size_t capacity = kInitialReadSize;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 0) {
    capacity = static_cast<std::size_t>(st.st_size) + 1;  // +1: EOF is seen without growing
  }
  Buffer buffer = make(capacity);
  std::size_t used = 0;
  while (true) {
    if (used == capacity) {
      const std::size_t bigger = capacity * 2;
      Buffer grown = make(bigger);
      std::memcpy(grown.data(), buffer.data(), used);
      buffer = std::move(grown);  // the old buffer is wiped as it is freed (for SecureBuffer)
      capacity = bigger;
    }
    const ssize_t n = ::read(fd, buffer.data() + used, capacity - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("cannot read", path, errno);
    }
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  return std::pair<Buffer, std::size_t>(std::move(buffer), used);
}

Result<int> open_input(std::string_view path) {
  if (is_stdio(path)) return STDIN_FILENO;
  const int fd = ::open(std::string(path).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error("cannot open", path, errno);
  return fd;
}

Result<void> write_fully(int fd, std::span<const std::uint8_t> data, std::string_view path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("cannot write", path, errno);
    }
    data = data.subspan(static_cast<std::size_t>(n));
  }
  return {};
}

// Owns a heap array and its capacity for read_all.
struct HeapBytes {
  explicit HeapBytes(std::size_t n) : bytes(std::make_unique_for_overwrite<std::uint8_t[]>(n)) {}
  std::uint8_t* data() { return bytes.get(); }
  std::unique_ptr<std::uint8_t[]> bytes;
};

std::string parent_dir(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

bool is_stdio(std::string_view path) noexcept { return path.empty() || path == "-"; }

Result<crypto::SecureBuffer> read_secret(std::string_view path) {
  auto fd = open_input(path);
  if (!fd) return std::move(fd).error();
  Fd owned(is_stdio(path) ? -1 : *fd);
  auto read = read_all<crypto::SecureBuffer>(*fd, path, [](std::size_t n) { return crypto::SecureBuffer(n); });
  if (!read) return std::move(read).error();
  auto& [buffer, used] = *read;
  buffer.truncate(used);
  return std::move(buffer);
}

Result<InputBytes> read_bytes(std::string_view path) {
  auto fd = open_input(path);
  if (!fd) return std::move(fd).error();
  Fd owned(is_stdio(path) ? -1 : *fd);
  auto read = read_all<HeapBytes>(*fd, path, [](std::size_t n) { return HeapBytes(n); });
  if (!read) return std::move(read).error();
  auto& [buffer, used] = *read;
  return InputBytes(std::move(buffer.bytes), used);
}

Result<void> write_output(std::string_view path, std::span<const std::uint8_t> data, mode_t mode) {
  if (is_stdio(path)) return write_fully(STDOUT_FILENO, data, path);
  const std::string target(path);
  struct stat st {};
  if (::stat(target.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    Fd fd(::open(target.c_str(), O_WRONLY | O_CLOEXEC));
    if (fd.get() < 0) return io_error("cannot open", path, errno);
    return write_fully(fd.get(), data, path);
  }

  std::string temp = parent_dir(target) + "/.remo-brokerctl.tmp.XXXXXX";
  Fd fd(::mkostemp(temp.data(), O_CLOEXEC));  // created 0600
  if (fd.get() < 0) return io_error("cannot create a temporary file next to", path, errno);
  auto fail = [&](std::string_view what) -> Error {
    const int err = errno;
    ::unlink(temp.c_str());
    return io_error(what, path, err);
  };
  if (auto written = write_fully(fd.get(), data, path); !written) {
    ::unlink(temp.c_str());
    return written;
  }
  if (::fchmod(fd.get(), mode) != 0) return fail("cannot set the mode of");
  if (::fsync(fd.get()) != 0) return fail("cannot sync");
  if (::close(fd.release()) != 0) return fail("cannot close");
  if (::rename(temp.c_str(), target.c_str()) != 0) return fail("cannot rename onto");
  Fd dir(::open(parent_dir(target).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() >= 0) ::fsync(dir.get());
  return {};
}

Result<void> create_new_file(std::string_view path, std::span<const std::uint8_t> data, mode_t mode) {
  const std::string target(path);
  Fd fd(::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  if (fd.get() < 0) {
    if (errno == EEXIST) return make_error("io", "refusing to overwrite existing file " + target);
    return io_error("cannot create", path, errno);
  }
  auto fail = [&](std::string_view what) -> Error {
    const int err = errno;
    ::unlink(target.c_str());
    return io_error(what, path, err);
  };
  if (::fchmod(fd.get(), mode) != 0) return fail("cannot set the mode of");
  if (auto written = write_fully(fd.get(), data, path); !written) {
    ::unlink(target.c_str());
    return written;
  }
  if (::fsync(fd.get()) != 0) return fail("cannot sync");
  if (::close(fd.release()) != 0) return fail("cannot close");
  Fd dir(::open(parent_dir(target).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() >= 0) ::fsync(dir.get());
  return {};
}

}  // namespace remo::cli
