#include "broker/transport/sd_notify.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cstddef>
#include <cstring>
#include <string>

#include "broker/core/unique_fd.hpp"
#include "tests/unit/support/temp_dir.hpp"

namespace remo::server {
namespace {

// A datagram socket bound like systemd's notify socket; address is "/path" or "@abstract".
core::UniqueFd bind_notify_socket(const std::string& address) {
  core::UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, address.data(), address.size());
  if (address.front() == '@') addr.sun_path[0] = '\0';
  const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address.size());
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), length) != 0) return core::UniqueFd{};
  return fd;
}

std::string receive(const core::UniqueFd& fd) {
  std::array<char, 4096> buffer{};
  const ssize_t n = ::recv(fd.get(), buffer.data(), buffer.size(), MSG_DONTWAIT);
  return n < 0 ? std::string("<nothing>") : std::string(buffer.data(), static_cast<std::size_t>(n));
}

TEST(SystemdNotifier, SendsReadyStatusAndStoppingToAPathSocket) {
  test_support::TempDir dir;
  const std::string address = (dir / "notify").string();
  const auto receiver = bind_notify_socket(address);
  ASSERT_TRUE(receiver);
  const SystemdNotifier notifier(address);
  ASSERT_TRUE(notifier.ready("serving 2 secrets").ok());
  EXPECT_EQ(receive(receiver), "READY=1\nSTATUS=serving 2 secrets");
  ASSERT_TRUE(notifier.status("busy").ok());
  EXPECT_EQ(receive(receiver), "STATUS=busy");
  ASSERT_TRUE(notifier.stopping("stopping").ok());
  EXPECT_EQ(receive(receiver), "STOPPING=1\nSTATUS=stopping");
}

TEST(SystemdNotifier, SupportsAbstractNamesWrittenWithAnAt) {
  const std::string address = "@remo-broker-test-" + std::to_string(::getpid());
  const auto receiver = bind_notify_socket(address);
  ASSERT_TRUE(receiver);
  ASSERT_TRUE(SystemdNotifier(address).ready("ok").ok());
  EXPECT_EQ(receive(receiver), "READY=1\nSTATUS=ok");
}

TEST(SystemdNotifier, WithoutNotifySocketEverythingIsANoOp) {
  const SystemdNotifier notifier{std::string()};
  EXPECT_FALSE(notifier.enabled());
  EXPECT_TRUE(notifier.ready("x").ok());
}

TEST(SystemdNotifier, ReadsTheAddressFromTheEnvironment) {
  ::setenv("NOTIFY_SOCKET", "@some-name", 1);
  EXPECT_TRUE(SystemdNotifier::from_environment().enabled());
  ::unsetenv("NOTIFY_SOCKET");
  EXPECT_FALSE(SystemdNotifier::from_environment().enabled());
}

TEST(SystemdNotifier, ABadOrAbsentSocketIsAnErrorNotACrash) {
  EXPECT_FALSE(SystemdNotifier("relative/path").ready("x").ok());
  EXPECT_FALSE(SystemdNotifier("/nonexistent/remo-broker/notify").ready("x").ok());
  EXPECT_FALSE(SystemdNotifier("/" + std::string(200, 'x')).ready("x").ok());
}

}  // namespace
}  // namespace remo::server
