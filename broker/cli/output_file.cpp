#include "broker/cli/output_file.hpp"

#include <fcntl.h>
#include <stdio.h>  // renameat2, RENAME_NOREPLACE
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <deque>
#include <string>

#include "broker/core/unique_fd.hpp"

namespace remo::cli {
namespace {

Error io_error(std::string_view what, std::string_view path, int err) {
  return make_error("io", std::string(what) + " " + std::string(path) + ": " + std::strerror(err));
}

Error refused(std::string_view path, std::string_view why) {
  return make_error("io", "refusing to write " + std::string(path) + ": " + std::string(why));
}

struct SplitPath {
  std::string directory;
  std::string name;
};

Result<SplitPath> split_path(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  SplitPath split{slash == std::string_view::npos ? "." : std::string(path.substr(0, slash == 0 ? 1 : slash)),
                  std::string(slash == std::string_view::npos ? path : path.substr(slash + 1))};
  if (split.name.empty() || split.name == "." || split.name == "..") {
    return refused(path, "it names a directory, not a file");
  }
  return split;
}

constexpr int kMaxSymlinks = 40;  // the kernel's own limit for one path

void push_components_front(std::deque<std::string>& pending, std::string_view path) {
  std::deque<std::string> parts;
  for (std::size_t start = 0; start <= path.size();) {
    const std::size_t slash = std::min(path.find('/', start), path.size());
    const std::string_view part = path.substr(start, slash - start);
    if (!part.empty() && part != ".") parts.emplace_back(part);
    start = slash + 1;
  }
  pending.insert(pending.begin(), parts.begin(), parts.end());
}

// Opens directory one component at a time, each relative to the last one opened. A symbolic link on
// the way is followed only when root or this user owns it: someone else's link (in a tree they can
// write) must not choose which directory receives the file. Holding each directory open makes a swap
// after the check harmless.
Result<core::UniqueFd> open_directory(const std::string& directory, std::string_view path) {
  core::UniqueFd current(::open(directory.starts_with('/') ? "/" : ".", O_PATH | O_DIRECTORY | O_CLOEXEC));
  std::deque<std::string> pending;
  push_components_front(pending, directory);
  for (int links = 0; current && !pending.empty();) {
    const std::string part = std::move(pending.front());
    pending.pop_front();
    core::UniqueFd next(::openat(current.get(), part.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    struct stat st {};
    if (!next || ::fstat(next.get(), &st) != 0) return io_error("cannot open the directory of", path, errno);
    if (S_ISDIR(st.st_mode)) {
      current = std::move(next);
      continue;
    }
    if (!S_ISLNK(st.st_mode)) return io_error("cannot open the directory of", path, ENOTDIR);
    if (st.st_uid != 0 && st.st_uid != ::geteuid()) {
      return refused(path, "'" + part + "' on its way is a symbolic link owned by uid " +
                               std::to_string(st.st_uid) + " (only root's and your own are followed)");
    }
    std::array<char, 4096> target{};
    const ssize_t length = ::readlinkat(next.get(), "", target.data(), target.size());
    if (++links > kMaxSymlinks || length <= 0 || static_cast<std::size_t>(length) == target.size()) {
      return io_error("cannot follow a symbolic link on the way to", path, length < 0 ? errno : ELOOP);
    }
    const std::string_view link(target.data(), static_cast<std::size_t>(length));
    push_components_front(pending, link);
    if (link.starts_with('/')) current.reset(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  }
  if (!current) return io_error("cannot open the directory of", path, errno);
  core::UniqueFd readable(
      ::openat(current.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));  // fsync needs it
  if (!readable) return io_error("cannot open the directory of", path, errno);
  return readable;
}

// What is at name now, in words, when it is something the writer must not replace; nothing when the
// name is free or a regular file.
const char* unwritable_kind(const struct stat& st) {
  if (S_ISLNK(st.st_mode)) return "it is a symbolic link (name the file it points to, or remove the link)";
  if (S_ISFIFO(st.st_mode)) return "it is a FIFO (use -o - to write to standard output)";
  if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
    return "it is a device (use -o - to write to standard output)";
  if (S_ISSOCK(st.st_mode)) return "it is a socket";
  if (S_ISDIR(st.st_mode)) return "it is a directory";
  if (!S_ISREG(st.st_mode)) return "it is not a regular file";
  return nullptr;
}

Result<std::string> temp_name_for(std::string_view name) {
  std::array<unsigned char, 8> random{};
  if (::getrandom(random.data(), random.size(), 0) != static_cast<ssize_t>(random.size())) {
    return make_error("io",
                      std::string("cannot get random bytes for a temporary name: ") + std::strerror(errno));
  }
  std::string temp = "." + std::string(name.substr(0, 64)) + ".tmp-";
  for (const unsigned char byte : random) {
    static constexpr char kHex[] = "0123456789abcdef";
    temp.push_back(kHex[byte >> 4]);
    temp.push_back(kHex[byte & 0xf]);
  }
  return temp;
}

// Moves temp onto name. kRefuse must not replace anything: RENAME_NOREPLACE, or where the file system
// lacks it, link (which never replaces) and unlink.
int move_into_place(int dir, const std::string& temp, const std::string& name, ExistingFile existing) {
  if (existing == ExistingFile::kReplace) return ::renameat(dir, temp.c_str(), dir, name.c_str());
  if (::renameat2(dir, temp.c_str(), dir, name.c_str(), RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return -1;
  if (::linkat(dir, temp.c_str(), dir, name.c_str(), 0) != 0) return -1;
  ::unlinkat(dir, temp.c_str(), 0);
  return 0;
}

// Writes, syncs and closes the temporary file. On failure it is removed.
Result<void> fill_temp(int dir, const std::string& temp, std::string_view path,
                       std::span<const std::uint8_t> data, mode_t mode) {
  core::UniqueFd fd(::openat(dir, temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) return io_error("cannot create a temporary file next to", path, errno);
  auto fail = [&](std::string_view what, int err) -> Error {
    ::unlinkat(dir, temp.c_str(), 0);
    return io_error(what, path, err);
  };
  if (::fchmod(fd.get(), mode) != 0) return fail("cannot set the mode of", errno);
  while (!data.empty()) {
    const ssize_t n = ::write(fd.get(), data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("cannot write", errno);
    data = data.subspan(static_cast<std::size_t>(n));
  }
  if (::fsync(fd.get()) != 0) return fail("cannot sync", errno);
  if (fd.close() != 0) return fail("cannot close", errno);
  return {};
}

}  // namespace

Result<void> write_file_safely(std::string_view path, std::span<const std::uint8_t> data, mode_t mode,
                               ExistingFile existing) {
  auto split = split_path(path);
  if (!split) return std::move(split).error();
  auto opened = open_directory(split->directory, path);
  if (!opened) return std::move(opened).error();
  const core::UniqueFd dir = std::move(*opened);
  struct stat st {};
  if (::fstatat(dir.get(), split->name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (const char* kind = unwritable_kind(st)) return refused(path, kind);
    if (existing == ExistingFile::kRefuse) return refused(path, "it exists already");
  } else if (errno != ENOENT) {
    return io_error("cannot inspect", path, errno);
  }
  auto temp = temp_name_for(split->name);
  if (!temp) return std::move(temp).error();
  if (auto filled = fill_temp(dir.get(), *temp, path, data, mode); !filled) return filled;
  if (move_into_place(dir.get(), *temp, split->name, existing) != 0) {
    const int err = errno;
    ::unlinkat(dir.get(), temp->c_str(), 0);
    if (err == EEXIST) return refused(path, "it exists already");
    return io_error("cannot rename into place", path, err);
  }
  if (::fsync(dir.get()) != 0) return io_error("cannot sync the directory of", path, errno);
  return {};
}

}  // namespace remo::cli
