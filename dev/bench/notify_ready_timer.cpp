// notify_ready_timer: measures how long a service takes from exec to sd_notify READY=1.
//
//   notify_ready_timer [--timeout S] [--wait-socket PATH] -- CMD ARGS...
//
// Binds a datagram socket at a fresh path, runs CMD with NOTIFY_SOCKET pointing at it, and times from
// just before execvp (the child writes the timestamp into shared memory) to the arrival of a datagram with
// a READY=1 line. With --wait-socket, a successful connect() to that Unix stream socket also counts as
// ready (polled every 0.5 ms), for services that do not notify. Then it sends SIGTERM, waits for the exit
// and prints {"ready_ms":..,"ready_cpu_ms":..,"via":"notify"|"socket","stop_ms":..,"exit_code":..,"pid":..}.
// ready_cpu_ms is the CPU time the service's threads had used when READY arrived (from
// /proc/PID/task/*/schedstat, nanoseconds): on a loaded machine wall time mostly measures the wait for a
// CPU, this measures the work.
// The child's stdout goes to our stderr, so stdout carries only the JSON. Exit 1 on timeout or early exit.
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <dirent.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>

namespace {

double mono_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

[[noreturn]] void fail(const std::string& msg) {
  std::fprintf(stderr, "notify_ready_timer: %s\n", msg.c_str());
  std::exit(1);
}

bool has_ready_line(std::string_view msg) {
  std::size_t pos = 0;
  while (pos <= msg.size()) {
    std::size_t nl = msg.find('\n', pos);
    std::string_view line = msg.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    if (line == "READY=1") return true;
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  return false;
}

bool socket_accepts(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) return false;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  bool ok = connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

// Waits up to timeout_ms for the child to exit; returns its wait status or -1.
int wait_exit(pid_t pid, double timeout_ms) {
  double deadline = mono_ms() + timeout_ms;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return -1;
    if (mono_ms() > deadline) return -1;
    usleep(1000);
  }
}

// CPU time of every thread of pid so far, in ms (-1 when /proc does not say).
double cpu_ms_of(pid_t pid) {
  const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  DIR* dir = opendir(tasks.c_str());
  if (dir == nullptr) return -1.0;
  double total_ns = 0.0;
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    std::string path = tasks;
    path.append("/").append(entry->d_name).append("/schedstat");
    if (FILE* f = std::fopen(path.c_str(), "r")) {
      unsigned long long ns = 0;
      if (std::fscanf(f, "%llu", &ns) == 1) total_ns += static_cast<double>(ns);
      std::fclose(f);
    }
  }
  closedir(dir);
  return total_ns / 1e6;
}

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  double timeout_s = 10.0;
  std::string wait_socket;
  int i = 1;
  for (; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a == "--timeout" && i + 1 < argc) {
      timeout_s = std::strtod(argv[++i], nullptr);
    } else if (a == "--wait-socket" && i + 1 < argc) {
      wait_socket = argv[++i];
    } else {
      fail("usage: notify_ready_timer [--timeout S] [--wait-socket PATH] -- CMD ARGS...");
    }
  }
  if (i >= argc) fail("usage: notify_ready_timer [--timeout S] [--wait-socket PATH] -- CMD ARGS...");

  char dir_template[] = "/tmp/notify-timer.XXXXXX";
  if (mkdtemp(dir_template) == nullptr) fail(std::string("mkdtemp: ") + std::strerror(errno));
  const std::string dir = dir_template;
  const std::string notify_path = dir + "/notify.sock";
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, notify_path.c_str(), notify_path.size() + 1);
  int nfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (nfd < 0 || bind(nfd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) < 0) {
    fail(std::string("notify socket: ") + std::strerror(errno));
  }
  auto cleanup = [&] {
    close(nfd);
    unlink(notify_path.c_str());
    rmdir(dir.c_str());
  };

  // The child stores its pre-exec timestamp here; CLOCK_MONOTONIC is system-wide.
  void* shared = mmap(nullptr, sizeof(double), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED) fail("mmap");
  auto* exec_ms = static_cast<volatile double*>(shared);
  *exec_ms = 0.0;

  signal(SIGPIPE, SIG_IGN);
  const double fork_ms = mono_ms();
  pid_t pid = fork();
  if (pid < 0) fail("fork");
  if (pid == 0) {
    setenv("NOTIFY_SOCKET", notify_path.c_str(), 1);
    dup2(STDERR_FILENO, STDOUT_FILENO);
    *exec_ms = mono_ms();
    execvp(argv[i], argv + i);
    std::fprintf(stderr, "notify_ready_timer: exec %s: %s\n", argv[i], std::strerror(errno));
    _exit(127);
  }

  const double deadline = fork_ms + timeout_s * 1e3;
  double ready_at = 0.0;
  const char* via = nullptr;
  int early_status = -1;
  while (via == nullptr) {
    pollfd pfd{nfd, POLLIN, 0};
    int r = poll(&pfd, 1, wait_socket.empty() ? 5 : 0);
    double now = mono_ms();
    if (r > 0) {
      char buf[4096];
      ssize_t n = recv(nfd, buf, sizeof buf, 0);
      if (n > 0 && has_ready_line(std::string_view(buf, static_cast<std::size_t>(n)))) {
        ready_at = now;
        via = "notify";
        break;
      }
      continue;
    }
    if (!wait_socket.empty() && socket_accepts(wait_socket)) {
      ready_at = mono_ms();
      via = "socket";
      break;
    }
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      early_status = status;
      break;
    }
    if (now > deadline) break;
    if (!wait_socket.empty()) usleep(500);
  }

  if (via == nullptr) {
    if (early_status >= 0) {
      std::printf("{\"error\":\"exited before READY\",\"exit_code\":%d}\n", exit_code(early_status));
    } else {
      kill(pid, SIGKILL);
      wait_exit(pid, 5000);
      std::printf("{\"error\":\"no READY within %.1f s\"}\n", timeout_s);
    }
    cleanup();
    return 1;
  }

  const double ready_cpu_ms = cpu_ms_of(pid);
  double start = *exec_ms > 0.0 ? *exec_ms : fork_ms;
  double ready_ms = ready_at - start;
  double stop_begin = mono_ms();
  kill(pid, SIGTERM);
  int status = wait_exit(pid, 10000);
  double stop_ms = mono_ms() - stop_begin;
  if (status < 0) {
    kill(pid, SIGKILL);
    status = wait_exit(pid, 5000);
  }
  cleanup();
  std::printf(
      "{\"ready_ms\":%.3f,\"ready_cpu_ms\":%.3f,\"via\":\"%s\",\"stop_ms\":%.3f,\"exit_code\":%d,\"pid\":%d}"
      "\n",
      ready_ms, ready_cpu_ms, via, stop_ms, status < 0 ? -1 : exit_code(status), static_cast<int>(pid));
  return 0;
}
