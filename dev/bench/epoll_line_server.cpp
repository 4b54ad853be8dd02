// epoll_line_server: the reference the daemon is measured against.
//
//   epoll_line_server SOCKET_PATH
//
// One thread, one level-triggered epoll loop, non-blocking sockets. For every complete '\n'-terminated line
// received on a connection it queues one fixed reply line the size of a real `get` reply; the request bytes
// are not parsed. Partial lines wait for their '\n', pipelined lines are answered in order, replies that do
// not fit the socket buffer wait for EPOLLOUT (reading pauses meanwhile). Lines over 64 KiB close the
// connection, like the project socket's limit. SIGTERM/SIGINT (via signalfd) unlink the socket and exit 0.
// When NOTIFY_SOCKET is set it sends READY=1 once listening, so notify_ready_timer works on it too.
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

namespace {

constexpr std::string_view kReply =
    "{\"ok\":true,\"value\":\"ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\",\"ttl_seconds\":300}\n";
constexpr std::size_t kMaxLine = 64 * 1024;
constexpr std::size_t kMaxPendingOut = 256 * 1024;  // stop reading while this much output is queued

struct Conn {
  int fd = -1;
  std::size_t partial = 0;  // bytes of the current unterminated line
  std::string out;          // replies not yet written
  std::size_t out_off = 0;
  bool want_out = false;
  bool reading = true;
};

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "epoll_line_server: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

void notify_ready() {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (path == nullptr || *path == '\0') return;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::size_t len = std::strlen(path);
  if (len >= sizeof(addr.sun_path)) return;
  std::memcpy(addr.sun_path, path, len);
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  constexpr std::string_view msg = "READY=1";
  auto addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len);
  (void)sendto(fd, msg.data(), msg.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&addr), addr_len);
  close(fd);
}

class Server {
 public:
  Server(int listen_fd, int signal_fd) : listen_fd_(listen_fd), signal_fd_(signal_fd) {
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) die("epoll_create1");
    add(listen_fd_, EPOLLIN);
    add(signal_fd_, EPOLLIN);
  }

  void run() {
    epoll_event events[256];
    for (;;) {
      int n = epoll_wait(ep_, events, 256, -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        die("epoll_wait");
      }
      for (int i = 0; i < n; ++i) {
        int fd = events[i].data.fd;
        if (fd == signal_fd_) return;
        if (fd == listen_fd_) {
          accept_all();
          continue;
        }
        auto it = conns_.find(fd);
        if (it == conns_.end()) continue;
        Conn& c = *it->second;
        bool alive = true;
        if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) alive = on_readable(c);
        if (alive && (events[i].events & EPOLLOUT)) alive = flush(c);
        if (alive) alive = update_interest(c);
        if (!alive) drop(fd);
      }
    }
  }

  ~Server() {
    for (auto& [fd, conn] : conns_) close(fd);
    close(ep_);
  }

 private:
  void add(int fd, std::uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    if (epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl add");
  }

  void accept_all() {
    for (;;) {
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;  // EAGAIN, or a transient error: level-triggered, we will be called again
      auto conn = std::make_unique<Conn>();
      conn->fd = fd;
      add(fd, EPOLLIN);
      conns_.emplace(fd, std::move(conn));
    }
  }

  bool on_readable(Conn& c) {
    char buf[64 * 1024];
    for (int round = 0; round < 4; ++round) {  // bounded, so one busy client cannot starve the others
      ssize_t r = read(c.fd, buf, sizeof buf);
      if (r == 0) return false;
      if (r < 0) return errno == EAGAIN || errno == EINTR;
      auto got = static_cast<std::size_t>(r);
      const char* p = buf;
      const char* end = buf + got;
      while (p < end) {
        const void* nl = std::memchr(p, '\n', static_cast<std::size_t>(end - p));
        if (nl == nullptr) {
          c.partial += static_cast<std::size_t>(end - p);
          if (c.partial > kMaxLine) return false;
          break;
        }
        c.partial = 0;
        c.out.append(kReply);
        p = static_cast<const char*>(nl) + 1;
      }
      if (!flush(c)) return false;
      if (c.out.size() - c.out_off > kMaxPendingOut) break;
      if (got < sizeof buf) break;
    }
    return true;
  }

  bool flush(Conn& c) {
    while (c.out_off < c.out.size()) {
      ssize_t w = send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
      if (w < 0) {
        if (errno == EINTR) continue;
        return errno == EAGAIN;
      }
      c.out_off += static_cast<std::size_t>(w);
    }
    c.out.clear();
    c.out_off = 0;
    return true;
  }

  bool update_interest(Conn& c) {
    bool pending = c.out_off < c.out.size();
    bool want_out = pending;
    bool reading = c.out.size() - c.out_off <= kMaxPendingOut;
    if (want_out == c.want_out && reading == c.reading) return true;
    epoll_event ev{};
    ev.events = (reading ? EPOLLIN : 0u) | (want_out ? EPOLLOUT : 0u);
    ev.data.fd = c.fd;
    if (epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev) < 0) return false;
    c.want_out = want_out;
    c.reading = reading;
    return true;
  }

  void drop(int fd) {
    epoll_ctl(ep_, EPOLL_CTL_DEL, fd, nullptr);
    close(fd);
    conns_.erase(fd);
  }

  int ep_ = -1;
  int listen_fd_;
  int signal_fd_;
  std::unordered_map<int, std::unique_ptr<Conn>> conns_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: epoll_line_server SOCKET_PATH\n");
    return 2;
  }
  const std::string path = argv[1];
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    std::fprintf(stderr, "epoll_line_server: socket path too long\n");
    return 2;
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  if (sigprocmask(SIG_BLOCK, &mask, nullptr) < 0) die("sigprocmask");
  int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sfd < 0) die("signalfd");
  signal(SIGPIPE, SIG_IGN);

  int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (lfd < 0) die("socket");
  unlink(path.c_str());
  if (bind(lfd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) < 0) die("bind");
  if (listen(lfd, 1024) < 0) die("listen");
  notify_ready();

  {
    Server server(lfd, sfd);
    server.run();
  }
  close(lfd);
  close(sfd);
  unlink(path.c_str());
  return 0;
}
