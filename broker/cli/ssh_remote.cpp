#include "broker/cli/ssh_remote.hpp"

#include <algorithm>
#include <cctype>

namespace remo::cli {
namespace {

// One word for the remote shell (ssh hands the command line to the user's shell on the instance).
std::string shell_quote(const std::string& word) {
  std::string quoted = "'";
  for (const char c : word) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted.push_back(c);
    }
  }
  return quoted + "'";
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

// The last non-empty line of ssh's stderr: its reason.
std::string last_line(const std::string& text) {
  std::string trimmed = text;
  while (!trimmed.empty() && (trimmed.back() == '\n' || trimmed.back() == '\r')) trimmed.pop_back();
  const auto newline = trimmed.rfind('\n');
  return newline == std::string::npos ? trimmed : trimmed.substr(newline + 1);
}

}  // namespace

std::string SshRemote::instance_name() const {
  const auto at = destination_.rfind('@');
  std::string host = at == std::string::npos ? destination_ : destination_.substr(at + 1);
  std::string port;
  for (const std::string& option : ssh_options_) {
    const std::string key = lower(option.substr(0, 5));
    if (key == "port=" || key == "port ") port = option.substr(5);
  }
  if (!port.empty() && port != "22") return std::string(1, '[').append(host).append("]:").append(port);
  return host;
}

std::vector<std::string> SshRemote::ssh_argv(const std::vector<std::string>& words) const {
  std::vector<std::string> argv = {"ssh", "-T"};
  for (const std::string& option : ssh_options_) {
    argv.emplace_back("-o");
    argv.push_back(option);
  }
  argv.emplace_back("--");
  argv.push_back(destination_);
  std::string command = shell_quote(remote_command_);
  for (const std::string& word : words) command.append(1, ' ').append(shell_quote(word));
  argv.push_back(command);
  return argv;
}

Error SshRemote::ssh_failure(const std::string& ssh_stderr) const {
  const std::string reason = last_line(ssh_stderr);
  const std::string text = lower(ssh_stderr);
  if (text.find("host key verification failed") != std::string::npos ||
      text.find("remote host identification has changed") != std::string::npos ||
      text.find("host key for") != std::string::npos) {
    return make_error("host_key", "ssh refused the host key of " + destination_ + ": " + reason +
                                      " (check the instance's host key in your known_hosts)");
  }
  return make_error("ssh_unreachable", "ssh to " + destination_ + " failed: " +
                                           (reason.empty() ? std::string("exit status 255") : reason));
}

Result<ProcessResult> SshRemote::run(const std::vector<std::string>& words,
                                     std::span<const std::uint8_t> input) const {
  auto result = run_process(ssh_argv(words), input);
  if (!result) return std::move(result).error();
  if (result->status != 255) return result;
  return ssh_failure(result->err);
}

}  // namespace remo::cli
