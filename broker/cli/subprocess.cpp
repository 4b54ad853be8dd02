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

struct ChildPipes {
  Pipe in;
  Pipe out;
  Pipe err;
  Pipe exec_error;  // carries errno when exec fails; closed by a successful exec
};

// In the child after fork: the pipes as stdin, stdout and stderr, then exec. Never returns.
[[noreturn]] void exec_child(const ChildPipes& pipes, const std::vector<char*>& args) {
  ::dup2(pipes.in.read.get(), STDIN_FILENO);
  ::dup2(pipes.out.write.get(), STDOUT_FILENO);
  ::dup2(pipes.err.write.get(), STDERR_FILENO);
  ::signal(SIGPIPE, SIG_DFL);
  ::execvp(args.front(), args.data());
  const int code = errno;
  (void)!::write(pipes.exec_error.write.get(), &code, sizeof(code));
  ::_exit(127);
}

// Feeds input to the child's stdin while collecting its stdout and stderr, until both are closed.
void exchange(ChildPipes& pipes, std::span<const std::uint8_t> input, ProcessResult& result) {
  std::size_t sent = 0;
  if (input.empty()) pipes.in.write.reset();
  std::array<char, 65536> buffer{};
  while (pipes.out.read || pipes.err.read) {
    std::array<pollfd, 3> fds{{{pipes.out.read.get(), POLLIN, 0},
                               {pipes.err.read.get(), POLLIN, 0},
                               {pipes.in.write.get(), POLLOUT, 0}}};
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (pipes.in.write && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
      const ssize_t n = ::write(pipes.in.write.get(), input.data() + sent, input.size() - sent);
      if (n > 0) sent += static_cast<std::size_t>(n);
      if (n < 0 && errno != EINTR && errno != EAGAIN) pipes.in.write.reset();  // the program stopped reading
      if (sent == input.size()) pipes.in.write.reset();
    }
    for (auto [index, target] : {std::pair{0, &result.out}, std::pair{1, &result.err}}) {
      core::UniqueFd& fd = index == 0 ? pipes.out.read : pipes.err.read;
      if (!fd || (fds[index].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
      if (n > 0) {
        target->append(buffer.data(), static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        fd.reset();
      }
    }
  }
  pipes.in.write.reset();
}

}  // namespace

Result<ProcessResult> run_process(const std::vector<std::string>& argv, std::span<const std::uint8_t> input) {
  auto in = make_pipe();
  auto out = make_pipe();
  auto err = make_pipe();
  auto exec_error = make_pipe();
  if (!in || !out || !err || !exec_error) return make_error("io", "cannot create pipes for " + argv.front());
  ChildPipes pipes{std::move(*in), std::move(*out), std::move(*err), std::move(*exec_error)};
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
  if (pid == 0) exec_child(pipes, args);
  pipes.in.read.reset();
  pipes.out.write.reset();
  pipes.err.write.reset();
  pipes.exec_error.write.reset();

  ProcessResult result;
  exchange(pipes, input, result);
  ::sigaction(SIGPIPE, &previous, nullptr);
  int wait_status = 0;
  while (::waitpid(pid, &wait_status, 0) < 0 && errno == EINTR) {
  }
  int exec_errno = 0;
  if (::read(pipes.exec_error.read.get(), &exec_errno, sizeof(exec_errno)) == sizeof(exec_errno)) {
    return make_error("io", "cannot run " + argv.front() + ": " + std::strerror(exec_errno));
  }
  result.status = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
  return result;
}

}  // namespace remo::cli
