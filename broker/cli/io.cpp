#include "broker/cli/io.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>
#include <string>
#include <utility>

#include "broker/cli/output_file.hpp"

namespace remo::cli {
namespace {

constexpr std::size_t kInitialReadSize = 64 * 1024;
constexpr off_t kMapThreshold = 1024 * 1024;

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
// make(n) must return a Buffer of n bytes with data().
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

}  // namespace

bool is_stdio(std::string_view path) noexcept { return path.empty() || path == "-"; }

Result<crypto::SecureBuffer> read_secret(std::string_view path) {
  auto fd = open_input(path);
  if (!fd) return std::move(fd).error();
  Fd owned(is_stdio(path) ? -1 : *fd);
  auto read =
      read_all<crypto::SecureBuffer>(*fd, path, [](std::size_t n) { return crypto::SecureBuffer(n); });
  if (!read) return std::move(read).error();
  auto& [buffer, used] = *read;
  buffer.truncate(used);
  return std::move(buffer);
}

InputBytes::InputBytes(std::size_t capacity) : capacity_(capacity) {
  void* p = ::mmap(nullptr, capacity == 0 ? 1 : capacity, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  data_ = static_cast<std::uint8_t*>(p);
}

InputBytes InputBytes::map_file(int fd, std::size_t size) {
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  InputBytes out(0);
  ::munmap(out.data_, 1);
  out.data_ = static_cast<std::uint8_t*>(p);
  out.capacity_ = size;
  out.size_ = size;
  return out;
}

InputBytes::~InputBytes() {
  if (data_ != nullptr) ::munmap(data_, capacity_ == 0 ? 1 : capacity_);
}

InputBytes::InputBytes(InputBytes&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      capacity_(std::exchange(other.capacity_, 0)),
      size_(std::exchange(other.size_, 0)) {}

InputBytes& InputBytes::operator=(InputBytes&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) ::munmap(data_, capacity_ == 0 ? 1 : capacity_);
    data_ = std::exchange(other.data_, nullptr);
    capacity_ = std::exchange(other.capacity_, 0);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

Result<InputBytes> read_bytes(std::string_view path) {
  auto fd = open_input(path);
  if (!fd) return std::move(fd).error();
  Fd owned(is_stdio(path) ? -1 : *fd);
  struct stat st {};
  if (::fstat(*fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= kMapThreshold) {
    try {
      return InputBytes::map_file(*fd, static_cast<std::size_t>(st.st_size));
    } catch (const std::bad_alloc&) {
      // Not mappable after all (an odd file system): fall back to reading it.
    }
  }
  auto read = read_all<InputBytes>(*fd, path, [](std::size_t n) { return InputBytes(n); });
  if (!read) return std::move(read).error();
  auto& [buffer, used] = *read;
  buffer.set_size(used);
  return std::move(buffer);
}

Result<void> write_output(std::string_view path, std::span<const std::uint8_t> data, mode_t mode) {
  if (is_stdio(path)) return write_fully(STDOUT_FILENO, data, path);
  return write_file_safely(path, data, mode, ExistingFile::kReplace);
}

Result<void> create_new_file(std::string_view path, std::span<const std::uint8_t> data, mode_t mode) {
  return write_file_safely(path, data, mode, ExistingFile::kRefuse);
}

}  // namespace remo::cli
