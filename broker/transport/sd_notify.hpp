// The sd_notify(3) protocol, which is small enough to speak without libsystemd: each message is one
// datagram of "KEY=value" lines sent to the AF_UNIX socket named by $NOTIFY_SOCKET, a path or, with a
// leading '@', an abstract name.
#pragma once

#include <string>
#include <string_view>

#include "broker/common/result.hpp"

namespace remo::server {

class SystemdNotifier {
 public:
  // Not under systemd (or NOTIFY_SOCKET empty): every notification is a no-op.
  static SystemdNotifier from_environment();
  explicit SystemdNotifier(std::string socket_address) : address_(std::move(socket_address)) {}

  bool enabled() const noexcept { return !address_.empty(); }

  // Sends one datagram. Errors (internal_error) only when enabled and the send fails; a missing notify
  // socket must not stop the broker, so callers log them and go on.
  Result<void> notify(std::string_view message) const;

  Result<void> ready(std::string_view status) const {
    return notify("READY=1\nSTATUS=" + std::string(status));
  }
  Result<void> status(std::string_view status) const { return notify("STATUS=" + std::string(status)); }
  Result<void> stopping(std::string_view status) const {
    return notify("STOPPING=1\nSTATUS=" + std::string(status));
  }

 private:
  std::string address_;
};

}  // namespace remo::server
