// ndjson_load: closed-loop load generator for NDJSON-over-Unix-socket servers.
//
//   ndjson_load --socket PATH [--connections N] [--requests-per-conn M] (--line JSON | --line-file F)
//               [--pipeline K] [--warmup W] [--expect-ok] [--timeout S]
//       One thread per connection. All connections connect, send W unmeasured warm-up requests, then start
//       together: each sends a line and waits for its reply line (K lines outstanding when K > 1), M times.
//       Prints one JSON object: {"requests","seconds","rps","p50_us","p90_us","p99_us","max_us","errors",...}
//       Latency is per request, send to reply (steady_clock). `errors` counts replies containing
//       "ok":false (the first one is shown on stderr); --expect-ok makes the first such reply fatal (exit 2).
//   ndjson_load --socket PATH --once (--line JSON | --line-file F) [--expect-ok]
//       Sends one line, prints the reply line. Exit 1 when the socket does not answer (handy for polling).
//   ndjson_load --socket PATH --connect-only N [--hold S]
//       Opens N idle connections, prints {"opened":N}, holds them S seconds (default 10) or until SIGTERM.
//
//   --lines-file F   instead of one fixed line, each request takes the next line of F (shared by every
//                    connection, warm-up included; running out is fatal). For ops whose requests must
//                    differ, e.g. one-shot claims, each token claimed once.
//   --resp           speak Redis (RESP2) instead of NDJSON, so Redis is measured by the same client with
//                    the same threads and timing: the line is split on spaces into a RESP array command,
//                    and a reply is one RESP value. An error reply (-ERR ...) or a null bulk string counts
//                    as an error. Only for the load and --once modes, with --line.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string socket;
  std::string line;
  std::vector<std::string> lines;  // --lines-file: one request each
  long connections = 1;
  long requests = 1000;
  long pipeline = 1;
  long warmup = 0;
  double timeout_s = 30.0;
  double hold_s = 10.0;
  long connect_only = 0;
  bool once = false;
  bool expect_ok = false;
  bool resp = false;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(
      stderr,
      "ndjson_load: %s\n"
      "usage: ndjson_load --socket PATH (--line JSON | --line-file F | --lines-file F) [--resp]\n"
      "         [--connections N] [--requests-per-conn M] [--pipeline K] [--warmup W] [--expect-ok]\n"
      "         [--timeout S]\n"
      "       ndjson_load --socket PATH --once (--line JSON | --line-file F) [--expect-ok]\n"
      "       ndjson_load --socket PATH --connect-only N [--hold S]\n",
      why);
  std::exit(64);
}

[[noreturn]] void fatal(const std::string& msg) {
  std::fprintf(stderr, "ndjson_load: %s\n", msg.c_str());
  std::exit(1);
}

long to_long(const char* s, long min) {
  char* end = nullptr;
  long v = std::strtol(s, &end, 10);
  if (end == s || *end != '\0' || v < min) usage("bad number");
  return v;
}

double to_double(const char* s) {
  char* end = nullptr;
  double v = std::strtod(s, &end);
  if (end == s || *end != '\0' || v < 0) usage("bad number");
  return v;
}

// "GET key" -> "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n", what redis-cli and redis-benchmark send.
std::string resp_command(std::string_view text) {
  std::vector<std::string_view> words;
  while (!text.empty()) {
    auto space = text.find(' ');
    if (space != 0) words.push_back(text.substr(0, space));
    if (space == std::string_view::npos) break;
    text.remove_prefix(space + 1);
  }
  if (words.empty()) usage("empty RESP command");
  std::string out;
  out.append(1, '*').append(std::to_string(words.size())).append("\r\n");
  for (auto w : words) {
    out.append(1, '$').append(std::to_string(w.size())).append("\r\n").append(w).append("\r\n");
  }
  return out;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage("missing value");
      return argv[++i];
    };
    if (a == "--socket") {
      o.socket = value();
    } else if (a == "--line") {
      o.line = value();
    } else if (a == "--line-file") {
      std::ifstream f(value(), std::ios::binary);
      if (!f) usage("cannot read --line-file");
      std::ostringstream ss;
      ss << f.rdbuf();
      o.line = ss.str();
      while (!o.line.empty() && (o.line.back() == '\n' || o.line.back() == '\r')) o.line.pop_back();
    } else if (a == "--lines-file") {
      std::ifstream f(value(), std::ios::binary);
      if (!f) usage("cannot read --lines-file");
      for (std::string l; std::getline(f, l);) {
        if (!l.empty() && l.back() == '\r') l.pop_back();
        if (!l.empty()) o.lines.push_back(l + '\n');
      }
      if (o.lines.empty()) usage("--lines-file is empty");
      o.line = o.lines.front();
    } else if (a == "--resp") {
      o.resp = true;
    } else if (a == "--connections") {
      o.connections = to_long(value(), 1);
    } else if (a == "--requests-per-conn") {
      o.requests = to_long(value(), 1);
    } else if (a == "--pipeline") {
      o.pipeline = to_long(value(), 1);
    } else if (a == "--warmup") {
      o.warmup = to_long(value(), 0);
    } else if (a == "--timeout") {
      o.timeout_s = to_double(value());
    } else if (a == "--hold") {
      o.hold_s = to_double(value());
    } else if (a == "--connect-only") {
      o.connect_only = to_long(value(), 1);
    } else if (a == "--once") {
      o.once = true;
    } else if (a == "--expect-ok") {
      o.expect_ok = true;
    } else {
      usage("unknown argument");
    }
  }
  if (o.socket.empty()) usage("--socket is required");
  if (o.connect_only == 0 && o.line.empty()) usage("--line or --line-file is required");
  if (!o.lines.empty()) {
    if (o.resp) usage("--lines-file is for NDJSON");
    return o;
  }
  if (o.line.find('\n') != std::string::npos) usage("the line must not contain a newline");
  if (o.resp) {
    o.line = resp_command(o.line);
  } else {
    o.line.push_back('\n');
  }
  return o;
}

int connect_unix(const std::string& path, double timeout_s) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) fatal("socket path too long");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fatal(std::string("socket: ") + std::strerror(errno));
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout_s);
  tv.tv_usec = static_cast<suseconds_t>((timeout_s - static_cast<double>(tv.tv_sec)) * 1e6);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return fd;
}

void send_all(int fd, const std::string& data) {
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t w = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      fatal(std::string("send: ") + std::strerror(errno));
    }
    off += static_cast<std::size_t>(w);
  }
}

// Reads '\n'-terminated lines from a blocking socket.
class LineReader {
 public:
  explicit LineReader(int fd) : fd_(fd) {}
  // The next line without its '\n'; fatal on EOF, error or timeout.
  std::string_view next() {
    for (;;) {
      auto nl = buf_.find('\n', start_);
      if (nl != std::string::npos) {
        std::string_view line(buf_.data() + start_, nl - start_);
        start_ = nl + 1;
        return line;
      }
      if (start_ > 0) {
        buf_.erase(0, start_);
        start_ = 0;
      }
      char chunk[64 * 1024];
      ssize_t r = recv(fd_, chunk, sizeof chunk, 0);
      if (r == 0) fatal("connection closed by the server before a reply");
      if (r < 0) {
        if (errno == EINTR) continue;
        fatal(std::string("recv: ") +
              (errno == EAGAIN ? "timed out waiting for a reply" : std::strerror(errno)));
      }
      buf_.append(chunk, static_cast<std::size_t>(r));
    }
  }

  // The next n bytes (a RESP bulk payload and its CRLF), which may contain '\n'.
  std::string_view take(std::size_t n) {
    while (buf_.size() - start_ < n) {
      if (start_ > 0) {
        buf_.erase(0, start_);
        start_ = 0;
      }
      char chunk[64 * 1024];
      ssize_t r = recv(fd_, chunk, sizeof chunk, 0);
      if (r == 0) fatal("connection closed by the server before a reply");
      if (r < 0) {
        if (errno == EINTR) continue;
        fatal(std::string("recv: ") +
              (errno == EAGAIN ? "timed out waiting for a reply" : std::strerror(errno)));
      }
      buf_.append(chunk, static_cast<std::size_t>(r));
    }
    std::string_view out(buf_.data() + start_, n);
    start_ += n;
    return out;
  }

 private:
  int fd_;
  std::string buf_;
  std::size_t start_ = 0;
};

bool is_error_reply(std::string_view reply) { return reply.find("\"ok\":false") != std::string_view::npos; }

// One RESP2 reply: "+OK", "-ERR ...", ":1", "$N" + payload, "$-1" (null); arrays are not expected from the
// commands this tool sends. Returns the reply as text; a null bulk string reads as "-null".
std::string_view next_reply(LineReader& reader, bool resp) {
  std::string_view head = reader.next();
  if (!resp) return head;
  if (!head.empty() && head.back() == '\r') head.remove_suffix(1);
  if (head.empty()) fatal("empty RESP reply");
  if (head[0] != '$') return head;
  long n = std::strtol(std::string(head.substr(1)).c_str(), nullptr, 10);
  if (n < 0) return "-null";
  std::string_view payload = reader.take(static_cast<std::size_t>(n) + 2);
  return payload.substr(0, static_cast<std::size_t>(n));
}

bool is_error(std::string_view reply, bool resp) {
  return resp ? !reply.empty() && reply[0] == '-' : is_error_reply(reply);
}

// --lines-file: the next request line, shared by every connection.
std::atomic<std::size_t> g_next_line{0};

const std::string& request_line(const Options& o) {
  if (o.lines.empty()) return o.line;
  std::size_t i = g_next_line.fetch_add(1);
  if (i >= o.lines.size()) fatal("--lines-file has fewer lines than requests");
  return o.lines[i];
}

std::mutex g_err_mutex;
bool g_err_shown = false;

void note_error(std::string_view reply, bool fatal_error) {
  std::lock_guard lock(g_err_mutex);
  if (!g_err_shown || fatal_error) {
    g_err_shown = true;
    std::fprintf(stderr, "ndjson_load: error reply: %.*s\n",
                 static_cast<int>(std::min<std::size_t>(reply.size(), 300)), reply.data());
  }
  if (fatal_error) std::exit(2);
}

struct Result {
  std::vector<double> latencies_us;
  long errors = 0;
};

// Runs `count` requests with up to `pipeline` outstanding; records latencies when `out` is non-null.
void drive(int fd, LineReader& reader, const Options& o, long count, Result* out) {
  std::deque<Clock::time_point> sent;
  long issued = 0;
  long done = 0;
  std::string batch;
  while (done < count) {
    batch.clear();
    while (issued < count && static_cast<long>(sent.size()) < o.pipeline) {
      batch += request_line(o);
      sent.push_back(Clock::now());
      ++issued;
    }
    if (!batch.empty()) send_all(fd, batch);
    std::string_view reply = next_reply(reader, o.resp);
    auto now = Clock::now();
    auto t0 = sent.front();
    sent.pop_front();
    ++done;
    if (is_error(reply, o.resp)) {
      note_error(reply, o.expect_ok);
      if (out != nullptr) ++out->errors;
    }
    if (out != nullptr) {
      out->latencies_us.push_back(std::chrono::duration<double, std::micro>(now - t0).count());
    }
  }
}

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0.0;
  auto rank = static_cast<std::size_t>(p / 100.0 * static_cast<double>(sorted.size()));
  return sorted[std::min(rank, sorted.size() - 1)];
}

int run_once(const Options& o) {
  int fd = connect_unix(o.socket, o.timeout_s);
  if (fd < 0) {
    std::fprintf(stderr, "ndjson_load: connect %s: %s\n", o.socket.c_str(), std::strerror(errno));
    return 1;
  }
  send_all(fd, o.line);
  LineReader reader(fd);
  std::string reply(next_reply(reader, o.resp));
  close(fd);
  std::printf("%s\n", reply.c_str());
  return o.expect_ok && is_error(reply, o.resp) ? 2 : 0;
}

int run_connect_only(const Options& o) {
  std::vector<int> fds;
  for (long i = 0; i < o.connect_only; ++i) {
    int fd = connect_unix(o.socket, o.timeout_s);
    if (fd < 0) fatal("connect #" + std::to_string(i) + ": " + std::strerror(errno));
    fds.push_back(fd);
  }
  std::printf("{\"opened\":%ld}\n", o.connect_only);
  std::fflush(stdout);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(o.hold_s);
  ts.tv_nsec = static_cast<long>((o.hold_s - static_cast<double>(ts.tv_sec)) * 1e9);
  sigtimedwait(&mask, nullptr, &ts);
  for (int fd : fds) close(fd);
  return 0;
}

int run_load(const Options& o) {
  auto n = static_cast<std::size_t>(o.connections);
  std::vector<int> fds(n, -1);
  for (std::size_t i = 0; i < n; ++i) {
    fds[i] = connect_unix(o.socket, o.timeout_s);
    if (fds[i] < 0) fatal("connect " + o.socket + ": " + std::strerror(errno));
  }
  std::vector<Result> results(n);
  std::barrier ready(static_cast<std::ptrdiff_t>(n + 1));
  std::barrier finished(static_cast<std::ptrdiff_t>(n + 1));
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      LineReader reader(fds[i]);
      results[i].latencies_us.reserve(static_cast<std::size_t>(o.requests));
      if (o.warmup > 0) drive(fds[i], reader, o, o.warmup, nullptr);
      ready.arrive_and_wait();
      drive(fds[i], reader, o, o.requests, &results[i]);
      finished.arrive_and_wait();
    });
  }
  ready.arrive_and_wait();
  auto t0 = Clock::now();
  finished.arrive_and_wait();
  auto t1 = Clock::now();
  for (auto& t : threads) t.join();
  for (int fd : fds) close(fd);

  std::vector<double> all;
  all.reserve(n * static_cast<std::size_t>(o.requests));
  long errors = 0;
  for (auto& r : results) {
    all.insert(all.end(), r.latencies_us.begin(), r.latencies_us.end());
    errors += r.errors;
  }
  std::sort(all.begin(), all.end());
  double seconds = std::chrono::duration<double>(t1 - t0).count();
  double mean = 0;
  for (double v : all) mean += v;
  mean = all.empty() ? 0.0 : mean / static_cast<double>(all.size());
  std::printf(
      "{\"requests\":%zu,\"seconds\":%.6f,\"rps\":%.1f,\"p50_us\":%.2f,\"p90_us\":%.2f,\"p99_us\":%.2f,"
      "\"max_us\":%.2f,\"mean_us\":%.2f,\"errors\":%ld,\"connections\":%ld,\"pipeline\":%ld}\n",
      all.size(), seconds, seconds > 0 ? static_cast<double>(all.size()) / seconds : 0.0, percentile(all, 50),
      percentile(all, 90), percentile(all, 99), all.empty() ? 0.0 : all.back(), mean, errors, o.connections,
      o.pipeline);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  Options o = parse(argc, argv);
  if (o.once) return run_once(o);
  if (o.connect_only > 0) return run_connect_only(o);
  return run_load(o);
}
