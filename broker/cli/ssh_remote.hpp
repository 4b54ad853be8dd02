// The instance-side remo-brokerctl, reached through the system's ssh client. Arguments are fixed words
// (the op and its flags); everything variable or sensitive travels on ssh's stdin. ssh's own failures
// (exit 255) are told apart: host key problems from everything else (unreachable, refused, auth).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "broker/cli/subprocess.hpp"
#include "broker/common/result.hpp"

namespace remo::cli {

class SshRemote {
 public:
  SshRemote(std::string destination, std::vector<std::string> ssh_options, std::string remote_command)
      : destination_(std::move(destination)),
        ssh_options_(std::move(ssh_options)),
        remote_command_(std::move(remote_command)) {}

  // The pin key of known_instances: the host without user@, "[host]:port" with a Port= ssh option.
  std::string instance_name() const;

  // Runs `remote_command words...` on the instance with input on its stdin. ssh failures are errors
  // (codes host_key, ssh_unreachable); the remote command's own status, whatever it is, is in the result.
  Result<ProcessResult> run(const std::vector<std::string>& words, std::span<const std::uint8_t> input) const;

  // The ssh command line run() executes: the ssh options, "--", the destination, then remote_command and
  // words, each quoted for the instance's shell, as one argument.
  std::vector<std::string> ssh_argv(const std::vector<std::string>& words) const;

  // What ssh's stderr says about a failure of ssh itself (exit 255): code host_key for a host key it
  // refused, else ssh_unreachable; the message ends with ssh's last line.
  Error ssh_failure(const std::string& ssh_stderr) const;

 private:
  std::string destination_;
  std::vector<std::string> ssh_options_;
  std::string remote_command_;
};

}  // namespace remo::cli
