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

 private:
  std::string destination_;
  std::vector<std::string> ssh_options_;
  std::string remote_command_;
};

}  // namespace remo::cli
