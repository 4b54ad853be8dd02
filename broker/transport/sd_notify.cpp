#include "broker/transport/sd_notify.hpp"

#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "broker/core/unique_fd.hpp"
#include "broker/transport/errno_text.hpp"
#include "protocol/codes.hpp"

namespace remo::server {
namespace {

Error notify_error(const std::string& address, const std::string& problem) {
  return Error{std::string(protocol::code::kInternalError), "NOTIFY_SOCKET " + address + ": " + problem};
}

}  // namespace

SystemdNotifier SystemdNotifier::from_environment() {
  const char* address = std::getenv("NOTIFY_SOCKET");  // NOLINT(concurrency-mt-unsafe): read at start-up
  return SystemdNotifier(address == nullptr ? std::string() : std::string(address));
}

Result<void> SystemdNotifier::notify(std::string_view message) const {
  if (!enabled()) return {};
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (address_.front() != '/' && address_.front() != '@') {
    return notify_error(address_, "not an absolute path or an abstract ('@') name");
  }
  if (address_.size() >= sizeof address.sun_path) return notify_error(address_, "address too long");
  std::memcpy(address.sun_path, address_.data(), address_.size());
  // An abstract name starts with a NUL byte and its length is exact: no terminator is counted.
  if (address_.front() == '@') address.sun_path[0] = '\0';
  const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address_.size());

  const core::UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return notify_error(address_, "socket(): " + errno_text());
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
  const ssize_t sent = ::sendto(fd.get(), message.data(), message.size(), MSG_NOSIGNAL,
                                reinterpret_cast<const sockaddr*>(&address), length);
  if (sent < 0) return notify_error(address_, "sendto(): " + errno_text());
  if (static_cast<std::size_t>(sent) != message.size()) return notify_error(address_, "short send");
  return {};
}

}  // namespace remo::server
