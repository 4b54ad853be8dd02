#include "broker/transport/line_budget.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <asio/post.hpp>

#include <string>
#include <string_view>

#include "protocol/codes.hpp"
#include "protocol/reply_line.hpp"

namespace remo::server {
namespace {

const std::string& over_budget_reply() {
  static const std::string line = protocol::error_line(protocol::code::kRateLimited,
                                                       "the broker holds too many unfinished request lines "
                                                       "and this connection's are among the largest; closing",
                                                       1);
  return line;
}

void close_over_budget(const std::shared_ptr<Connection>& connection) {
  if (connection->finished || !connection->socket.is_open()) return;
  if (connection->reading) {  // no reply is being written: this one cannot interleave with another
    const std::string& reply = over_budget_reply();
    ::send(connection->socket.native_handle(), reply.data(), reply.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  }
  spdlog::debug("closing a connection over the line buffer budget");
  connection->draining = true;
  asio::error_code ignored;
  connection->socket.close(ignored);
}

}  // namespace

BufferBudget::Share join_line_budget(BufferBudget* budget, const std::shared_ptr<Connection>& connection,
                                     const void* socket) {
  if (budget == nullptr) return {};
  return budget->join(socket, [weak = std::weak_ptr<Connection>(connection)] {
    auto alive = weak.lock();
    if (!alive) return;
    auto executor = alive->socket.get_executor();
    asio::post(executor, [connection = std::move(alive)] { close_over_budget(connection); });
  });
}

}  // namespace remo::server
