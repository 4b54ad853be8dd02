// The socket side of broker_client: a stand-in broker on a Unix socket in a temporary directory answers
// (or does not answer) one request, and the CLI's view of that is checked, exit status included.
#include "broker/cli/broker_client.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <thread>

#include "broker/cli/cli_output.hpp"
#include "broker/cli/exit_codes.hpp"
#include "cli_test_files.hpp"
#include "protocol/ops.hpp"

namespace remo::cli {
namespace {

namespace field = protocol::field;
namespace op = protocol::op;

class StandInBroker : public test::TempDir {
 protected:
  void SetUp() override {
    test::TempDir::SetUp();
    socket_path_ = dir_ + "/admin.sock";
    listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(listener_, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, socket_path_.c_str(), socket_path_.size() + 1);
    ASSERT_EQ(::bind(listener_, reinterpret_cast<const sockaddr*>(&address), sizeof(address)), 0);  // NOLINT
    ASSERT_EQ(::listen(listener_, 1), 0);
  }
  void TearDown() override {
    if (server_.joinable()) server_.join();
    ::close(listener_);
    test::TempDir::TearDown();
  }

  // Accepts one connection, reads the request line into request_, writes reply (may be empty), closes.
  void answer_with(std::string reply) {
    server_ = std::thread([this, reply = std::move(reply)] {
      const int connection = ::accept(listener_, nullptr, nullptr);
      if (connection < 0) return;
      char c = 0;
      while (::read(connection, &c, 1) == 1 && c != '\n') request_.push_back(c);
      if (!reply.empty()) (void)!::write(connection, reply.data(), reply.size());
      ::close(connection);
    });
  }
  std::string received() {
    server_.join();
    return request_;
  }

  std::string socket_path_;
  int listener_ = -1;
  std::thread server_;
  std::string request_;
};

TEST_F(StandInBroker, SendsOneRequestLineAndReadsTheReply) {
  answer_with("{\"ok\":true,\"recipient\":\"age1x\"}\n");
  auto reply = call_ok(socket_path_, Json{{field::kOp, op::kGetPublicKey}});
  EXPECT_EQ(received(), "{\"op\":\"get-public-key\"}");
  ASSERT_TRUE(reply.ok()) << reply.error().message;
  EXPECT_EQ(reply->value("recipient", std::string()), "age1x");
}

TEST_F(StandInBroker, AnErrorReplyKeepsTheBrokersCodeAndStatus) {
  answer_with("{\"ok\":false,\"code\":\"project_unknown\",\"message\":\"no project p\"}\n");
  auto reply = call_ok(socket_path_, Json{{field::kOp, op::kUnregister}, {field::kName, "p"}});
  EXPECT_EQ(received(), "{\"op\":\"unregister\",\"name\":\"p\"}");
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().code, "project_unknown");
  EXPECT_EQ(exit_status_for(reply.error()), 21);
}

TEST_F(StandInBroker, AConnectionClosedWithoutReplyIsStatus5) {
  answer_with("");
  auto reply = call(socket_path_, Json{{field::kOp, op::kStatus}});
  received();
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().code, kMalformedReply);
  EXPECT_EQ(exit_status_for(reply.error()), exit_code::kMalformedReply);
}

TEST_F(StandInBroker, AReplyThatIsNotJsonIsStatus5) {
  answer_with("HTTP/1.1 400 Bad Request\n");
  auto reply = call(socket_path_, Json{{field::kOp, op::kStatus}});
  received();
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(exit_status_for(reply.error()), exit_code::kMalformedReply);
}

TEST_F(StandInBroker, NoSocketMeansTheBrokerIsNotRunning) {
  auto reply = call(dir_ + "/missing.sock", Json{{field::kOp, op::kStatus}});
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().code, kBrokerNotRunning);
  EXPECT_EQ(exit_status_for(reply.error()), exit_code::kBrokerNotRunning);
  EXPECT_NE(reply.error().message.find("missing.sock"), std::string::npos);
}

TEST(ResolveSocket, FlagThenEnvironmentThenDefault) {
  ::unsetenv("REMO_BROKER_ADMIN_SOCKET");
  EXPECT_EQ(resolve_socket(SocketKind::kAdmin, std::nullopt), kDefaultAdminSocket);
  EXPECT_EQ(resolve_socket(SocketKind::kAdmin, std::string()), kDefaultAdminSocket);
  ::setenv("REMO_BROKER_ADMIN_SOCKET", "/env/admin.sock", 1);
  EXPECT_EQ(resolve_socket(SocketKind::kAdmin, std::nullopt), "/env/admin.sock");
  EXPECT_EQ(resolve_socket(SocketKind::kAdmin, std::string("/flag.sock")), "/flag.sock");
  ::unsetenv("REMO_BROKER_ADMIN_SOCKET");
  ::unsetenv("REMO_BROKER_SOCKET");
  EXPECT_EQ(resolve_socket(SocketKind::kProject, std::nullopt), kDefaultProjectSocket);
}

}  // namespace
}  // namespace remo::cli
