// line_flood: a hostile project's traffic for dev/bench.sh's neighbour row. Floods one NDJSON socket at
// full speed with every kind of line a project socket gets: get (allowed and not), ping, info, malformed
// JSON, an unknown op, and now and then an over-long line (the server closes the connection; we reconnect).
//
//   line_flood --socket PATH [--connections N] [--seconds S]
//       N connections (default 4), each sending windows of mixed lines pipelined and reading their replies,
//       for S seconds (default 10) or until SIGTERM. Prints {"lines":L,"reconnects":R}.
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

std::atomic<bool> g_stop{false};
std::atomic<long> g_lines{0};
std::atomic<long> g_reconnects{0};

constexpr std::string_view kKinds[] = {
    R"({"op":"get","name":"SECRET_001"})",
    R"({"op":"get","name":"NOT_ALLOWED"})",
    R"({"op":"ping"})",
    R"({"op":"info"})",
    R"({not json)",
    R"({"op":"no_such_op"})",
};
constexpr int kRepeats = 20;  // lines of each kind per window
constexpr int kWindowsPerOverlong = 50;

int connect_unix(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) return -1;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) < 0) {
    close(fd);
    return -1;
  }
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Reads until `lines` newlines arrived; false when the server closed or timed out.
bool read_lines(int fd, long lines) {
  char chunk[64 * 1024];
  while (lines > 0) {
    const ssize_t n = recv(fd, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    for (ssize_t i = 0; i < n; ++i) lines -= chunk[i] == '\n' ? 1 : 0;
  }
  return true;
}

void flood(const std::string& path, Clock::time_point end) {
  std::string window;
  for (int r = 0; r < kRepeats; ++r) {
    for (std::string_view kind : kKinds) window.append(kind).push_back('\n');
  }
  const long per_window = kRepeats * static_cast<long>(std::size(kKinds));
  const std::string overlong(64 * 1024 + 16, 'x');
  int fd = -1;
  for (long windows = 0; !g_stop && Clock::now() < end; ++windows) {
    if (fd < 0 && (fd = connect_unix(path)) < 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      continue;
    }
    if (windows % kWindowsPerOverlong == kWindowsPerOverlong - 1) {
      send_all(fd, overlong);  // answered with protocol_error, then closed
      read_lines(fd, 1);
      close(fd);
      fd = -1;
      ++g_reconnects;
      continue;
    }
    if (!send_all(fd, window) || !read_lines(fd, per_window)) {
      close(fd);
      fd = -1;
      ++g_reconnects;
      continue;
    }
    g_lines += per_window;
  }
  if (fd >= 0) close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket_path;
  long connections = 4;
  double seconds = 10;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag == "--socket") {
      socket_path = argv[i + 1];
    } else if (flag == "--connections") {
      connections = std::max(1L, std::atol(argv[i + 1]));
    } else if (flag == "--seconds") {
      seconds = std::atof(argv[i + 1]);
    } else {
      std::fprintf(stderr, "usage: line_flood --socket PATH [--connections N] [--seconds S]\n");
      return 64;
    }
  }
  if (socket_path.empty()) {
    std::fprintf(stderr, "usage: line_flood --socket PATH [--connections N] [--seconds S]\n");
    return 64;
  }
  struct sigaction stop {};
  stop.sa_handler = [](int) { g_stop = true; };
  sigaction(SIGTERM, &stop, nullptr);
  const auto end =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::thread> threads;
  for (long c = 0; c < connections; ++c) threads.emplace_back(flood, socket_path, end);
  for (auto& thread : threads) thread.join();
  std::printf("{\"lines\":%ld,\"reconnects\":%ld}\n", g_lines.load(), g_reconnects.load());
  return 0;
}
