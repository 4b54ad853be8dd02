#include "broker/cli/ssh_remote.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "broker/cli/cli_output.hpp"
#include "broker/cli/exit_codes.hpp"

namespace remo::cli {
namespace {

using Words = std::vector<std::string>;

TEST(SshRemote, InstanceNameDropsTheUserAndKeepsAnotherPort) {
  EXPECT_EQ(SshRemote("admin@box.example", {}, "remo-brokerctl").instance_name(), "box.example");
  EXPECT_EQ(SshRemote("box", {"Port=2222"}, "remo-brokerctl").instance_name(), "[box]:2222");
  EXPECT_EQ(SshRemote("box", {"port 2200"}, "remo-brokerctl").instance_name(), "[box]:2200");
  EXPECT_EQ(SshRemote("box", {"Port=22"}, "remo-brokerctl").instance_name(), "box");
  EXPECT_EQ(SshRemote("a@b@box", {"IdentityFile=k"}, "remo-brokerctl").instance_name(), "box");
}

TEST(SshRemote, ArgvPassesOptionsThenOneQuotedRemoteCommand) {
  const SshRemote remote("admin@box", {"Port=2222", "IdentityFile=~/k"}, "/opt/remo brokerctl");
  EXPECT_EQ(remote.ssh_argv({"admin", "push-creds", "--json"}),
            (Words{"ssh", "-T", "-o", "Port=2222", "-o", "IdentityFile=~/k", "--", "admin@box",
                   "'/opt/remo brokerctl' 'admin' 'push-creds' '--json'"}));
}

TEST(SshRemote, AQuoteInAWordCannotEndItsQuoting) {
  const SshRemote remote("box", {}, "remo-brokerctl");
  EXPECT_EQ(remote.ssh_argv({"it's; rm -rf /"}).back(), R"('remo-brokerctl' 'it'\''s; rm -rf /')");
}

TEST(SshRemote, AnOptionLikeDestinationComesAfterDoubleDash) {
  const Words argv = SshRemote("-oProxyCommand=x", {}, "r").ssh_argv({});
  ASSERT_EQ(argv.size(), 5U);
  EXPECT_EQ(argv[2], "--");
  EXPECT_EQ(argv[3], "-oProxyCommand=x");
}

TEST(SshRemote, HostKeyFailuresAreToldApartFromUnreachableHosts) {
  const SshRemote remote("box", {}, "remo-brokerctl");
  const Error changed = remote.ssh_failure(
      "@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@\nHost key verification failed.\n");
  EXPECT_EQ(changed.code, "host_key");
  EXPECT_EQ(exit_status_for(changed), exit_code::kHostKeyProblem);
  EXPECT_NE(changed.message.find("Host key verification failed."), std::string::npos);

  const Error refused = remote.ssh_failure("ssh: connect to host box port 22: Connection refused\r\n");
  EXPECT_EQ(refused.code, "ssh_unreachable");
  EXPECT_EQ(exit_status_for(refused), exit_code::kSshUnreachable);
  EXPECT_EQ(refused.message, "ssh to box failed: ssh: connect to host box port 22: Connection refused");

  EXPECT_EQ(remote.ssh_failure("").message, "ssh to box failed: exit status 255");
}

}  // namespace
}  // namespace remo::cli
