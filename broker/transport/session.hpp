// One client connection on one of the broker's sockets: a straight-line coroutine that reads request
// lines, has the endpoint answer each one in order, and writes the replies. It never blocks a thread: a
// client that stalls mid-line or stops reading costs a suspended coroutine until the idle timeout.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/steady_timer.hpp>

#include "broker/core/audit_log.hpp"
#include "broker/transport/buffer_budget.hpp"
#include "broker/transport/endpoint.hpp"
#include "broker/transport/peer_credentials.hpp"
#include "protocol/codes.hpp"

namespace remo::server {

using UnixSocket = asio::local::stream_protocol::socket;

struct SessionLimits {
  std::size_t line_limit = protocol::kProjectLineLimit;
  // A connection is closed when no complete request arrives, or a reply cannot be written, for this long.
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};
  // Replies to pipelined requests are written once this much is queued, before reading on: a client that
  // pipelines without reading cannot make the broker hold more than this (plus one reply).
  std::size_t reply_flush_threshold = 256 * 1024;
  // Shared by the sessions of every socket: what their unfinished lines and unread replies may hold (none:
  // unbounded).
  BufferBudget* line_budget = nullptr;
};

// The state of one connection shared by its session, its idle watchdog and its listener. Every member is
// used on the socket's strand only; drain() and cut() may be called from any thread.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  explicit Connection(UnixSocket socket);

  // Shutdown: answer the requests already received, then close.
  void drain();
  // Close now (the project was unregistered, or shutdown ran out of time).
  void cut();

  UnixSocket socket;
  asio::steady_timer idle_timer;
  std::chrono::steady_clock::time_point deadline;  // the idle watchdog closes the connection then
  bool busy = false;                               // the endpoint is answering on another executor: not idle
  bool reading = false;                            // a read is pending: drain() cancels it
  bool draining = false;                           // read no more
  bool finished = false;                           // the session has ended
  BufferBudget::Share* buffers = nullptr;          // the session's part of the budget, while it runs
};

// Serves one connection until the client leaves, breaks the line limit, idles out or is drained/cut. The
// audit events of each batch of answers go to audit once the batch's replies are written, except on the
// control plane and for blocking work, whose events are in the audit file before the replies leave.
// When handler_executor is given (the admin socket's control plane), the endpoint runs there, one batch
// of buffered lines per hop; otherwise it runs inline on the connection's strand. Closes the socket.
asio::awaitable<void> run_session(std::shared_ptr<Connection> connection, PeerCredentials peer,
                                  Endpoint& endpoint, core::AuditLog& audit, SessionLimits limits,
                                  std::optional<asio::any_io_executor> handler_executor);

}  // namespace remo::server
