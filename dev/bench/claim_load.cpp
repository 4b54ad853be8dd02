// claim_load: one-shot secret load over the broker's real sockets (dev/bench_claims.sh).
//
//   claim_load --socket ADMIN.sock --create N --project P [--connections C] --tokens-out FILE
//       Creates N one-shot secrets of project P (64-byte values, ttl 1 h) on C admin connections and writes
//       their tokens to FILE, one per line.
//   claim_load --socket PROJECT.sock --claim FILE [--connections C]
//       Claims every token of FILE once, C connections at a time (closed loop: each connection sends a claim
//       and waits for its reply before the next). Every ok counted was durable before it was sent.
// Prints one JSON object: {"requests","ok","seconds","rps","p50_us","p99_us","max_us"}. Exit 2 when a
// request fails (the first failure reply is shown on stderr).
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "claim_load: %s\n", what.c_str());
  std::exit(1);
}

int connect_to(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket failed");
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path)) die("socket path too long");
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0)
    die("connect " + path);
  return fd;
}

// One request line out, one reply line back.
class Client {
 public:
  explicit Client(const std::string& path) : fd_(connect_to(path)) {}
  ~Client() { ::close(fd_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  std::string call(const std::string& line) {
    for (std::size_t sent = 0; sent < line.size();) {
      const ssize_t n = ::send(fd_, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) die("send failed");
      sent += static_cast<std::size_t>(n);
    }
    for (;;) {
      if (const auto end = buffer_.find('\n'); end != std::string::npos) {
        std::string reply = buffer_.substr(0, end);
        buffer_.erase(0, end + 1);
        return reply;
      }
      char chunk[65536];
      const ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
      if (n <= 0) die("connection closed by the broker");
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

 private:
  int fd_;
  std::string buffer_;
};

std::string token_of(const std::string& reply) {
  constexpr std::string_view kKey = "\"token\":\"";
  const auto at = reply.find(kKey);
  if (at == std::string::npos) return {};
  const auto start = at + kKey.size();
  return reply.substr(start, reply.find('"', start) - start);
}

struct Options {
  std::string socket;
  std::string project;
  std::string tokens_file;
  long create = 0;
  int connections = 1;
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  bool claim = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    const auto next = [&]() -> std::string {
      if (i + 1 >= argc) die(std::string(a) + " needs a value");
      return argv[++i];
    };
    if (a == "--socket") {
      o.socket = next();
    } else if (a == "--create") {
      o.create = std::strtol(next().c_str(), nullptr, 10);
    } else if (a == "--project") {
      o.project = next();
    } else if (a == "--tokens-out") {
      o.tokens_file = next();
    } else if (a == "--claim") {
      claim = true;
      o.tokens_file = next();
    } else if (a == "--connections") {
      o.connections = std::max(1, std::atoi(next().c_str()));
    } else {
      die("unknown argument " + std::string(a));
    }
  }
  if (o.socket.empty() || o.tokens_file.empty() || (claim == (o.create > 0))) {
    die("usage: --socket S (--create N --project P --tokens-out F | --claim F) [--connections C]");
  }

  std::vector<std::string> lines;
  std::vector<std::string> tokens;
  if (claim) {
    std::ifstream in(o.tokens_file);
    for (std::string token; std::getline(in, token);) {
      if (!token.empty()) lines.push_back(R"({"op":"claim","token":")" + token + "\"}\n");
    }
  } else {
    const std::string value(64, 'v');
    for (long i = 0; i < o.create; ++i) {
      lines.push_back(R"({"op":"claim-create","project":")" + o.project + R"(","value":")" + value +
                      R"(","ttl_seconds":3600})" + "\n");
    }
    tokens.resize(lines.size());
  }

  std::atomic<std::size_t> next{0};
  std::atomic<long> ok{0};
  std::mutex mutex;
  std::vector<double> latencies_us;
  std::string first_failure;
  std::barrier start(o.connections + 1);
  std::vector<std::thread> threads;
  for (int c = 0; c < o.connections; ++c) {
    threads.emplace_back([&] {
      Client client(o.socket);
      std::vector<double> mine;
      start.arrive_and_wait();
      for (std::size_t i; (i = next.fetch_add(1)) < lines.size();) {
        const auto began = Clock::now();
        const std::string reply = client.call(lines[i]);
        mine.push_back(std::chrono::duration<double, std::micro>(Clock::now() - began).count());
        if (reply.rfind("{\"ok\":true", 0) == 0) {
          ok.fetch_add(1);
          if (!claim) tokens[i] = token_of(reply);
        } else {
          const std::lock_guard lock(mutex);
          if (first_failure.empty()) first_failure = reply;
        }
      }
      const std::lock_guard lock(mutex);
      latencies_us.insert(latencies_us.end(), mine.begin(), mine.end());
    });
  }
  start.arrive_and_wait();
  const auto began = Clock::now();
  for (auto& thread : threads) thread.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - began).count();

  if (!claim) {
    std::ofstream out(o.tokens_file);
    for (const auto& token : tokens) out << token << '\n';
  }
  std::sort(latencies_us.begin(), latencies_us.end());
  const auto at = [&](double q) {
    return latencies_us.empty()
               ? 0.0
               : latencies_us[static_cast<std::size_t>(q * static_cast<double>(latencies_us.size() - 1))];
  };
  std::printf(
      R"({"requests":%zu,"ok":%ld,"seconds":%.3f,"rps":%.0f,"p50_us":%.0f,"p99_us":%.0f,"max_us":%.0f})"
      "\n",
      lines.size(), ok.load(), seconds, static_cast<double>(lines.size()) / seconds, at(0.5), at(0.99),
      at(1.0));
  if (!first_failure.empty()) {
    std::fprintf(stderr, "claim_load: first failure: %s\n", first_failure.c_str());
    return 2;
  }
  return 0;
}
