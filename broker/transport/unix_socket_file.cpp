#include "broker/transport/unix_socket_file.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

#include "broker/core/unique_fd.hpp"
#include "broker/transport/errno_text.hpp"
#include "protocol/codes.hpp"

namespace remo::server {
namespace {

Error socket_error(const std::filesystem::path& path, const std::string& problem) {
  return Error{std::string(protocol::code::kInternalError), "socket " + path.string() + ": " + problem};
}

Result<sockaddr_un> address_of(const std::filesystem::path& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const std::string& text = path.native();
  if (text.size() >= sizeof address.sun_path) {
    return socket_error(path, "path longer than " + std::to_string(sizeof address.sun_path - 1) + " bytes");
  }
  std::memcpy(address.sun_path, text.c_str(), text.size() + 1);
  return address;
}

// A socket file nobody accepts on is stale (its broker died); one that answers belongs to a live broker.
bool someone_listens_on(const sockaddr_un& address) {
  const core::UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!probe) return false;
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
  const int result = ::connect(probe.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address);
  return result == 0 || errno == EAGAIN || errno == EINPROGRESS;
}

Result<void> clear_stale_file(const std::filesystem::path& path, const sockaddr_un& address) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) {
    if (errno == ENOENT) return {};
    return socket_error(path, errno_text());
  }
  if (!S_ISSOCK(info.st_mode)) return socket_error(path, "exists and is not a socket; not replacing it");
  if (someone_listens_on(address)) return socket_error(path, "another process is accepting on it");
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return socket_error(path, "cannot remove the stale socket file: " + errno_text());
  }
  return {};
}

}  // namespace

BoundSocketFile::~BoundSocketFile() {
  if (fd_ >= 0) ::close(fd_);
}

BoundSocketFile::BoundSocketFile(BoundSocketFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)), identity_(other.identity_) {}

void BoundSocketFile::remove_file() const noexcept {
  struct stat info {};
  if (::lstat(path_.c_str(), &info) != 0) return;
  if (!S_ISSOCK(info.st_mode) || info.st_dev != identity_.st_dev || info.st_ino != identity_.st_ino ||
      info.st_ctim.tv_sec != identity_.st_ctim.tv_sec || info.st_ctim.tv_nsec != identity_.st_ctim.tv_nsec) {
    return;
  }
  ::unlink(path_.c_str());
}

Result<BoundSocketFile> bind_socket_file(const SocketFileOptions& options) {
  const std::filesystem::path& path = options.path;
  auto address = address_of(path);
  if (!address) return std::move(address).error();
  if (auto cleared = clear_stale_file(path, *address); !cleared) return std::move(cleared).error();

  const int raw_fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (raw_fd < 0) return socket_error(path, "socket(): " + errno_text());
  BoundSocketFile owner(raw_fd, path, {});  // closes the socket on every early return
  // The file appears with mode 0777 & ~umask (0700 under the daemon's umask 077): never wider than meant.
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
  if (::bind(raw_fd, reinterpret_cast<const sockaddr*>(&*address), sizeof *address) != 0) {
    return socket_error(path, "bind(): " + errno_text());
  }
  const auto fail_and_unlink = [&](const std::string& problem) {
    ::unlink(path.c_str());
    return socket_error(path, problem);
  };
  if (::chmod(path.c_str(), options.mode) != 0) return fail_and_unlink("chmod(): " + errno_text());
  if (options.gid && ::lchown(path.c_str(), static_cast<uid_t>(-1), *options.gid) != 0) {
    return fail_and_unlink("cannot give it to group " + std::to_string(*options.gid) + ": " + errno_text());
  }
  if (::listen(raw_fd, options.backlog) != 0) return fail_and_unlink("listen(): " + errno_text());
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) return fail_and_unlink("lstat(): " + errno_text());
  return BoundSocketFile(owner.release(), path, info);
}

Result<void> link_socket_file(const std::filesystem::path& link, const std::filesystem::path& target) {
  struct stat info {};
  const bool exists = ::lstat(link.c_str(), &info) == 0;
  if (!exists && errno != ENOENT) return socket_error(link, errno_text());
  if (exists && !S_ISLNK(info.st_mode)) {
    auto address = address_of(link);
    if (!address) return std::move(address).error();
    if (auto cleared = clear_stale_file(link, *address); !cleared) return std::move(cleared).error();
  }
  // Made aside and renamed over: a client never finds the path missing while an old link is replaced.
  std::filesystem::path made = link;
  made += ".link";
  ::unlink(made.c_str());
  if (::symlink(target.c_str(), made.c_str()) != 0) return socket_error(made, "symlink(): " + errno_text());
  if (::rename(made.c_str(), link.c_str()) != 0) {
    const std::string problem = "rename(): " + errno_text();
    ::unlink(made.c_str());
    return socket_error(link, problem);
  }
  return {};
}

void unlink_socket_link(const std::filesystem::path& link, const std::filesystem::path& target) noexcept {
  std::array<char, 4096> points_to{};
  const ssize_t length = ::readlink(link.c_str(), points_to.data(), points_to.size());
  if (length <= 0 || static_cast<std::size_t>(length) >= points_to.size()) return;
  if (std::string_view(points_to.data(), static_cast<std::size_t>(length)) != target.native()) return;
  ::unlink(link.c_str());
}

}  // namespace remo::server
