#include "broker/transport/listener.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <chrono>
#include <exception>
#include <string>
#include <string_view>
#include <utility>

#include "broker/transport/audit_events.hpp"
#include "protocol/codes.hpp"
#include "protocol/reply_line.hpp"

namespace remo::server {
namespace {

constexpr auto kUseTuple = asio::experimental::as_tuple(asio::use_awaitable);

// Sent, without waiting, to a client beyond max_connections before closing its connection.
const std::string& busy_reply() {
  static const std::string line = protocol::error_line(protocol::code::kRateLimited,
                                                       "too many connections on this socket; retry later", 1);
  return line;
}

// How long a socket over its pace of accepts leaves new connections in the backlog.
constexpr std::chrono::milliseconds kAcceptPause{100};

bool out_of_descriptors(const asio::error_code& error) {
  return error == asio::error::no_descriptors || error == asio::error::no_buffer_space ||
         error == asio::error::no_memory || error.value() == ENFILE;
}

// Logs an exception that escaped a coroutine (asio hands it to the completion handler) instead of losing it.
void log_escaped(const std::exception_ptr& error, const std::string& what) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& failure) {
    spdlog::error("{} failed: {}", what, failure.what());
  }
}

}  // namespace

Listener::Listener(IoPool& pool, BoundSocketFile socket_file, std::shared_ptr<Endpoint> endpoint,
                   core::AuditLog& audit, Options options, std::atomic<std::size_t>& live_connections)
    : pool_(pool),
      io_(pool.first()),
      acceptor_(io_, asio::local::stream_protocol(), socket_file.release()),
      socket_file_(std::move(socket_file)),
      endpoint_(std::move(endpoint)),
      audit_(audit),
      options_(std::move(options)),
      live_connections_(live_connections) {}

void Listener::start() {
  asio::co_spawn(io_, accept_loop(shared_from_this()),
                 [name = options_.name](const std::exception_ptr& error) {
                   if (error) log_escaped(error, name + " socket: accept loop");
                 });
}

asio::awaitable<void> Listener::accept_loop([[maybe_unused]] std::shared_ptr<Listener> self) {
  asio::steady_timer backoff(io_);
  while (acceptor_.is_open()) {
    if (options_.admit_connection && !options_.admit_connection()) {
      backoff.expires_after(kAcceptPause);
      co_await backoff.async_wait(kUseTuple);
      continue;
    }
    // Accept on the acceptor's own context, then move the descriptor to a data-plane context. A pending
    // accept therefore never holds a socket of another context, which may be destroyed first at shutdown.
    auto [error, accepted] = co_await acceptor_.async_accept(kUseTuple);
    if (!error) {
      const int fd = accepted.release(error);
      if (!error) {
        serve(UnixSocket(pool_.next(), asio::local::stream_protocol(), fd));
        continue;
      }
    }
    if (error == asio::error::operation_aborted || !acceptor_.is_open()) break;
    if (out_of_descriptors(error)) {
      // The pending connection stays queued; retrying at once would spin.
      spdlog::warn("{} socket: cannot accept: {}; retrying in 100 ms", options_.name, error.message());
      backoff.expires_after(std::chrono::milliseconds(100));
      co_await backoff.async_wait(kUseTuple);
    }
  }
}

void Listener::serve(UnixSocket socket) {
  const auto peer = read_peer_credentials(socket.native_handle());
  if (!peer) {
    spdlog::warn("{} socket: {}", options_.name, peer.error().message);
    return;  // closing the socket is all there is to do
  }
  auto connection = std::make_shared<Connection>(std::move(socket));
  bool full = false;
  {
    const std::lock_guard lock(mutex_);
    if (closing_) return;
    full = connections_.size() >= options_.max_connections;
    if (!full) connections_.insert(connection);
  }
  if (full) {
    if (!options_.audit_project.empty()) {  // audited before the client hears of it
      auto event = audit::begin(audit::kConnectionRefused, *peer);
      event["project"] = options_.audit_project;
      event["decision"] = audit::kDeny;
      event["outcome"] = protocol::code::kRateLimited;
      audit_.record(std::move(event));
    }
    const std::string& reply = busy_reply();
    ::send(connection->socket.native_handle(), reply.data(), reply.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    return;
  }
  live_connections_.fetch_add(1, std::memory_order_relaxed);
  auto session =
      run_session(connection, *peer, *endpoint_, audit_, options_.limits, options_.handler_executor);
  asio::co_spawn(connection->socket.get_executor(), std::move(session),
                 [self = shared_from_this(), connection](const std::exception_ptr& error) {
                   if (error) log_escaped(error, self->options_.name + " socket: session");
                   self->forget(connection);
                 });
}

void Listener::forget(const std::shared_ptr<Connection>& connection) {
  {
    const std::lock_guard lock(mutex_);
    connections_.erase(connection);
  }
  live_connections_.fetch_sub(1, std::memory_order_relaxed);
}

void Listener::stop_accepting() {
  asio::post(io_, [self = shared_from_this()] {
    asio::error_code ignored;
    self->acceptor_.close(ignored);
  });
}

void Listener::drain() {
  stop_accepting();
  const std::lock_guard lock(mutex_);
  closing_ = true;
  for (const auto& connection : connections_) connection->drain();
}

void Listener::close() {
  socket_file_.remove_file();
  stop_accepting();
  const std::lock_guard lock(mutex_);
  closing_ = true;
  for (const auto& connection : connections_) connection->cut();
}

std::size_t Listener::connection_count() const {
  const std::lock_guard lock(mutex_);
  return connections_.size();
}

}  // namespace remo::server
