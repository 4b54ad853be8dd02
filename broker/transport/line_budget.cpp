#include "broker/transport/line_budget.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <asio/post.hpp>

#include <string_view>

namespace remo::server {
namespace {

constexpr std::string_view kOverBudgetReply =
    R"({"ok":false,"code":"rate_limited","message":"the broker holds too many unfinished request lines and )"
    R"(this connection's are among the largest; closing","retry_after_seconds":1})"
    "\n";

void close_over_budget(const std::shared_ptr<Connection>& connection) {
  if (connection->finished || !connection->socket.is_open()) return;
  if (connection->reading) {  // no reply is being written: this one cannot interleave with another
    ::send(connection->socket.native_handle(), kOverBudgetReply.data(), kOverBudgetReply.size(),
           MSG_DONTWAIT | MSG_NOSIGNAL);
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
