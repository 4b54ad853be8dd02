// The listener and its sessions over real Unix sockets, with an endpoint that echoes each line.
#include "broker/transport/listener.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <asio/executor_work_guard.hpp>

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "broker/core/unique_fd.hpp"
#include "broker/transport/reply.hpp"
#include "tests/unit/support/temp_dir.hpp"

namespace remo::server {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

struct EchoEndpoint : Endpoint {
  bool admit(const PeerCredentials& /*peer*/, Answers& /*out*/) override { return admit_peers; }
  void handle(std::string_view line, const PeerCredentials& /*peer*/, Answers& out) override {
    handled_on = std::this_thread::get_id();
    append_ok(out.replies, nullptr, Json{{"echo", std::string(line)}});
    out.audit_events.push_back({{"event", "echo"}, {"line", std::string(line)}});
  }
  std::atomic<bool> admit_peers = true;
  std::atomic<std::thread::id> handled_on;
};

// A blocking test client with a receive timeout.
class Client {
 public:
  explicit Client(const fs::path& path) : fd_(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.c_str(), path.native().size() + 1);
    connected_ = ::connect(fd_.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
    const timeval timeout{5, 0};
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  }
  bool connected() const { return connected_; }
  void send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  // The next line, or "<closed>" / "<timeout>".
  std::string line() {
    for (;;) {
      if (const auto newline = buffer_.find('\n'); newline != std::string::npos) {
        std::string line = buffer_.substr(0, newline);
        buffer_.erase(0, newline + 1);
        return line;
      }
      char chunk[65536];
      const ssize_t n = ::recv(fd_.get(), chunk, sizeof chunk, 0);
      if (n == 0 || (n < 0 && errno == ECONNRESET)) return "<closed>";
      if (n < 0) return "<timeout>";
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }
  Json reply() {
    const std::string text = line();
    return text.starts_with("<") ? Json(text) : Json::parse(text);
  }

 private:
  core::UniqueFd fd_;
  bool connected_ = false;
  std::string buffer_;
};

class ListenerTest : public ::testing::Test {
 protected:
  void start(SessionLimits limits = {}, std::size_t max_connections = 4096,
             std::optional<asio::any_io_executor> handler_executor = std::nullopt,
             std::string audit_project = {}, std::function<bool()> admit_connection = {}) {
    auto file = bind_socket_file({path_, 0600, std::nullopt});
    ASSERT_TRUE(file.ok()) << file.error().message;
    listener_ =
        std::make_shared<Listener>(pool_, std::move(*file), endpoint_, audit_,
                                   Listener::Options{"test", limits, max_connections, handler_executor,
                                                     std::move(audit_project), std::move(admit_connection)},
                                   live_);
    listener_->start();
    pool_.start();
  }

  void TearDown() override {
    if (listener_) listener_->close();
    pool_.stop();
  }

  bool wait_for_no_connections(std::chrono::milliseconds within = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + within;
    while (live_.load() > 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
    return live_.load() == 0;
  }

  test_support::TempDir dir_;
  fs::path path_ = dir_ / "test.sock";
  core::AuditLog audit_{{dir_ / "audit.log"}};
  IoPool pool_{2};
  std::atomic<std::size_t> live_{0};
  std::shared_ptr<EchoEndpoint> endpoint_ = std::make_shared<EchoEndpoint>();
  std::shared_ptr<Listener> listener_;
};

TEST_F(ListenerTest, PipelinedRequestsAreAnsweredInOrder) {
  start();
  Client client(path_);
  ASSERT_TRUE(client.connected());
  std::string batch;
  for (int i = 0; i < 500; ++i) batch += "req-" + std::to_string(i) + "\n";
  client.send(batch);
  for (int i = 0; i < 500; ++i) ASSERT_EQ(client.reply()["echo"], "req-" + std::to_string(i));
}

TEST_F(ListenerTest, AuditEventsAreRecordedOnceTheRepliesAreWritten) {
  start();
  Client client(path_);
  client.send("first\nsecond\n");
  EXPECT_EQ(client.reply()["echo"], "first");
  EXPECT_EQ(client.reply()["echo"], "second");
  std::string text;
  for (int i = 0; i < 200 && text.find("second") == std::string::npos; ++i) {
    audit_.flush();
    std::ifstream file(dir_ / "audit.log");
    text.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
    if (text.find("second") == std::string::npos) std::this_thread::sleep_for(10ms);
  }
  const auto first = text.find("\"line\":\"first\"");
  const auto second = text.find("\"line\":\"second\"");
  ASSERT_NE(first, std::string::npos) << text;
  ASSERT_NE(second, std::string::npos) << text;
  EXPECT_LT(first, second);
}

TEST_F(ListenerTest, BlankLinesAreSkippedAndCarriageReturnsDropped) {
  start();
  Client client(path_);
  client.send("\n\r\na\r\n");
  EXPECT_EQ(client.reply()["echo"], "a");
}

TEST_F(ListenerTest, ALineOverTheLimitGetsAProtocolErrorThenTheConnectionCloses) {
  start({.line_limit = 1024});
  Client client(path_);
  client.send("fine\n" + std::string(2000, 'x'));
  EXPECT_EQ(client.reply()["echo"], "fine");
  const Json error = client.reply();
  EXPECT_EQ(error["code"], "protocol_error");
  EXPECT_EQ(client.line(), "<closed>");
  Client other(path_);
  other.send("still here\n");
  EXPECT_EQ(other.reply()["echo"], "still here");
}

TEST_F(ListenerTest, AHalfLineStallerIsClosedByTheIdleTimeoutWithoutBlockingOthers) {
  start({.idle_timeout = 300ms});
  Client staller(path_);
  staller.send("{\"op\":\"get\",\"na");
  Client other(path_);
  other.send("quick\n");
  EXPECT_EQ(other.reply()["echo"], "quick");
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(staller.line(), "<closed>");
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
}

TEST_F(ListenerTest, ActivityKeepsAConnectionOpenPastTheIdleTimeout) {
  start({.idle_timeout = 300ms});
  Client client(path_);
  for (int i = 0; i < 6; ++i) {
    std::this_thread::sleep_for(100ms);
    client.send("tick\n");
    ASSERT_EQ(client.reply()["echo"], "tick") << i;
  }
}

TEST_F(ListenerTest, ARefusedPeerIsToldWhyAndDisconnected) {
  endpoint_->admit_peers = false;
  start();
  Client client(path_);
  const Json reply = client.reply();
  EXPECT_EQ(reply["code"], "peer_unexpected");
  EXPECT_EQ(client.line(), "<closed>");
}

TEST_F(ListenerTest, ConnectionsBeyondTheCapAreAskedToRetry) {
  start({}, 2);
  Client first(path_);
  Client second(path_);
  first.send("1\n");
  second.send("2\n");
  ASSERT_EQ(first.reply()["echo"], "1");
  ASSERT_EQ(second.reply()["echo"], "2");
  Client third(path_);
  const Json reply = third.reply();
  EXPECT_EQ(reply["code"], "rate_limited");
  EXPECT_EQ(reply["retry_after_seconds"], 1);
  EXPECT_EQ(third.line(), "<closed>");
}

TEST_F(ListenerTest, AProjectSocketAuditsTheConnectionsItTurnsAway) {
  start({}, 1, std::nullopt, "webapp");
  Client first(path_);
  first.send("1\n");
  ASSERT_EQ(first.reply()["echo"], "1");
  Client second(path_);
  EXPECT_EQ(second.reply()["code"], "rate_limited");
  audit_.flush();
  std::ifstream file(dir_ / "audit.log");
  const std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find(R"("event":"connection.refused")"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("project":"webapp")"), std::string::npos) << text;
}

TEST_F(ListenerTest, ConnectionsPastThePaceWaitInTheBacklogUntilItAdmitsThem) {
  std::atomic<bool> admit{false};
  std::atomic<int> asked{0};
  start({}, 4096, std::nullopt, {}, [&] {
    ++asked;
    return admit.load();
  });
  Client client(path_);  // the kernel completes the connect; the broker has not accepted it
  ASSERT_TRUE(client.connected());
  client.send("1\n");
  std::this_thread::sleep_for(300ms);
  EXPECT_GE(asked.load(), 2) << "the listener asks again after each pause";
  EXPECT_EQ(live_.load(), 0U) << "nothing was accepted while the pace said no";
  admit = true;
  EXPECT_EQ(client.reply()["echo"], "1");
}

TEST_F(ListenerTest, AClientThatLeavesMidReplyAffectsNoOne) {
  start();
  for (int i = 0; i < 20; ++i) {
    Client leaver(path_);
    leaver.send(std::string(200, 'y') + "\n" + std::string(20000, 'z') + "\n");
  }  // closed before reading anything
  Client client(path_);
  client.send("ok\n");
  EXPECT_EQ(client.reply()["echo"], "ok");
  EXPECT_TRUE(wait_for_no_connections() || live_.load() == 1);
}

TEST_F(ListenerTest, DrainEndsIdleConnectionsAndStopsAccepting) {
  start();
  Client idle(path_);
  idle.send("hello\n");
  ASSERT_EQ(idle.reply()["echo"], "hello");
  listener_->drain();
  EXPECT_TRUE(wait_for_no_connections());
  EXPECT_EQ(idle.line(), "<closed>");
}

TEST_F(ListenerTest, CloseRemovesTheSocketFileAndCutsConnections) {
  start();
  Client client(path_);
  client.send("hello\n");
  ASSERT_EQ(client.reply()["echo"], "hello");
  listener_->close();
  EXPECT_FALSE(fs::exists(path_));
  EXPECT_EQ(client.line(), "<closed>");
  EXPECT_TRUE(wait_for_no_connections());
}

TEST_F(ListenerTest, AHandlerExecutorRunsTheEndpointOnItsOwnThread) {
  asio::io_context control;
  auto control_work = asio::make_work_guard(control);
  std::thread control_thread([&] { control.run(); });
  start({}, 4096, control.get_executor());
  Client client(path_);
  client.send("a\nb\n");
  EXPECT_EQ(client.reply()["echo"], "a");
  EXPECT_EQ(client.reply()["echo"], "b");
  EXPECT_EQ(endpoint_->handled_on.load(), control_thread.get_id());
  listener_->close();
  wait_for_no_connections();
  control_work.reset();
  control.stop();
  control_thread.join();
}

}  // namespace
}  // namespace remo::server
