// Listening Unix stream sockets as files: bind with the right mode and group, replace a stale socket file
// left by a crash (never a live one, never anything that is not a socket), and remove only our own file.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <utility>

#include "broker/common/result.hpp"

namespace remo::server {

struct SocketFileOptions {
  std::filesystem::path path;
  unsigned mode = 0600;
  std::optional<gid_t> gid;  // chown the file to this group
  int backlog = 4096;        // the kernel caps it at net.core.somaxconn
};

class BoundSocketFile {
 public:
  // identity: the file's lstat() right after it was bound and set up.
  BoundSocketFile(int fd, std::filesystem::path path, const struct stat& identity) noexcept
      : fd_(fd), path_(std::move(path)), identity_(identity) {}
  ~BoundSocketFile();
  BoundSocketFile(BoundSocketFile&& other) noexcept;
  BoundSocketFile& operator=(BoundSocketFile&&) = delete;
  BoundSocketFile(const BoundSocketFile&) = delete;
  BoundSocketFile& operator=(const BoundSocketFile&) = delete;

  // The listening socket (non-blocking, close-on-exec), owned until release() hands it over.
  int fd() const noexcept { return fd_; }
  int release() noexcept { return std::exchange(fd_, -1); }
  const std::filesystem::path& path() const noexcept { return path_; }

  // Unlinks the socket file if the path still names the file bound here (same device, inode and change
  // time: inode numbers are reused at once): after a restart a newer broker may already own the path.
  void remove_file() const noexcept;

 private:
  int fd_;
  std::filesystem::path path_;
  struct stat identity_;
};

// Errors: internal_error naming the path and the reason (too long, not a socket, in use by a live
// process, bind/chmod/chown/listen failed). On error nothing is left behind.
Result<BoundSocketFile> bind_socket_file(const SocketFileOptions& options);

// A symbolic link at `link` to the socket file `target`, for clients that still use an older path. Replaces
// a link, or a stale socket file, left there; refuses anything else (a live socket, a regular file).
// Errors: internal_error naming the path and the reason.
Result<void> link_socket_file(const std::filesystem::path& link, const std::filesystem::path& target);

// Removes the link if it still points at target.
void unlink_socket_link(const std::filesystem::path& link, const std::filesystem::path& target) noexcept;

}  // namespace remo::server
