#include "broker/transport/peer_credentials.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker/core/unique_fd.hpp"

namespace remo::server {
namespace {

TEST(PeerCredentials, ReportsTheKernelsViewOfTheOtherEnd) {
  int pair[2] = {-1, -1};
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  const core::UniqueFd ours(pair[0]);
  const core::UniqueFd theirs(pair[1]);
  const auto peer = read_peer_credentials(ours.get());
  ASSERT_TRUE(peer.ok());
  EXPECT_EQ(peer->pid, ::getpid());
  EXPECT_EQ(peer->uid, ::getuid());
  EXPECT_EQ(peer->gid, ::getgid());
}

TEST(PeerCredentials, AFileThatIsNotASocketIsAnError) {
  int pipe_fds[2] = {-1, -1};
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const core::UniqueFd read_end(pipe_fds[0]);
  const core::UniqueFd write_end(pipe_fds[1]);
  const auto peer = read_peer_credentials(read_end.get());
  ASSERT_FALSE(peer.ok());
  EXPECT_EQ(peer.error().code, "internal_error");
}

TEST(PeerCredentials, TheAdminSocketServesRootAndTheBrokersOwnUidOnly) {
  EXPECT_TRUE(is_admin_peer({1, 0, 0}, 1000));
  EXPECT_TRUE(is_admin_peer({1, 1000, 1000}, 1000));
  EXPECT_FALSE(is_admin_peer({1, 1001, 1000}, 1000));
  EXPECT_FALSE(is_admin_peer({1, 1000, 0}, 0));
}

TEST(PeerCredentials, AuditFormNamesPidUidGid) {
  const auto json = to_audit_json({42, 1000, 100});
  EXPECT_EQ(json["pid"], 42);
  EXPECT_EQ(json["uid"], 1000);
  EXPECT_EQ(json["gid"], 100);
}

}  // namespace
}  // namespace remo::server
