#include "broker/cli/subprocess.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>

#include "broker/core/unique_fd.hpp"

namespace remo::cli {
namespace {

struct Pipe {
  core::UniqueFd read;
  core::UniqueFd write;
};

Result<Pipe> make_pipe() {
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0)
    return make_error("io", std::string("pipe: ") + std::strerror(errno));
  return Pipe{core::UniqueFd(fds[0]), core::UniqueFd(fds[1])};
}

}  // namespace

Result<ProcessResult> run_process(const std::vector<std::string>& argv, std::span<const std::uint8_t> input) {
  auto in = make_pipe();
  auto out = make_pipe();
  auto err = make_pipe();
  auto exec_error = make_pipe();  // carries errno when exec fails; closed by a successful exec
  if (!in || !out || !err || !exec_error) return make_error("io", "cannot create pipes for " + argv.front());
  std::vector<char*> args;
  std::vector<std::string> storage(argv);
  for (std::string& arg : storage) args.push_back(arg.data());
  args.push_back(nullptr);

  // A program that exits without reading all its input must not kill this process with SIGPIPE.
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction previous {};
  ::sigaction(SIGPIPE, &ignore, &previous);
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::sigaction(SIGPIPE, &previous, nullptr);
    return make_error("io", std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    ::dup2(in->read.get(), STDIN_FILENO);
    ::dup2(out->write.get(), STDOUT_FILENO);
    ::dup2(err->write.get(), STDERR_FILENO);
    ::signal(SIGPIPE, SIG_DFL);
    ::execvp(args.front(), args.data());
    const int code = errno;
    (void)!::write(exec_error->write.get(), &code, sizeof(code));
    ::_exit(127);
  }
  in->read.reset();
  out->write.reset();
  err->write.reset();
  exec_error->write.reset();

  ProcessResult result;
  std::size_t sent = 0;
  if (input.empty()) in->write.reset();
  std::array<char, 65536> buffer{};
  while (out->read || err->read) {
    std::array<pollfd, 3> fds{
        {{out->read.get(), POLLIN, 0}, {err->read.get(), POLLIN, 0}, {in->write.get(), POLLOUT, 0}}};
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (in->write && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
      const ssize_t n = ::write(in->write.get(), input.data() + sent, input.size() - sent);
      if (n > 0) sent += static_cast<std::size_t>(n);
      if (n < 0 && errno != EINTR && errno != EAGAIN) in->write.reset();  // the program stopped reading
      if (sent == input.size()) in->write.reset();
    }
    for (auto [index, target] : {std::pair{0, &result.out}, std::pair{1, &result.err}}) {
      core::UniqueFd& fd = index == 0 ? out->read : err->read;
      if (!fd || (fds[index].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
      if (n > 0) {
        target->append(buffer.data(), static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        fd.reset();
      }
    }
  }
  in->write.reset();
  ::sigaction(SIGPIPE, &previous, nullptr);
  int wait_status = 0;
  while (::waitpid(pid, &wait_status, 0) < 0 && errno == EINTR) {
  }
  int exec_errno = 0;
  if (::read(exec_error->read.get(), &exec_errno, sizeof(exec_errno)) == sizeof(exec_errno)) {
    return make_error("io", "cannot run " + argv.front() + ": " + std::strerror(exec_errno));
  }
  result.status = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
  return result;
}

}  // namespace remo::cli
