// Listener: one listening Unix socket (the admin socket or a project socket) and its connections. A
// coroutine accept loop reads each peer's SO_PEERCRED, then co_spawns the connection's session on the next
// context of the IoPool (its strand), up to max_connections at a time; beyond that, a client is told to
// retry later and closed, and on a project socket the refusal is audited (grouped, see core::AuditLog).
// Every connection costs the broker a little however well its lines are limited, so a project socket
// takes far fewer than the admin socket (project_max_connections), and may pace its accepts
// (Options::admit_connection): past the pace, new connections wait in the kernel's backlog, costing the
// broker nothing, instead of being accepted and turned away.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/local/stream_protocol.hpp>

#include "broker/transport/endpoint.hpp"
#include "broker/transport/io_pool.hpp"
#include "broker/transport/project_socket.hpp"
#include "broker/transport/session.hpp"
#include "broker/transport/unix_socket_file.hpp"

namespace remo::server {

class Listener final : public ProjectSocket, public std::enable_shared_from_this<Listener> {
 public:
  struct Options {
    std::string name;  // "admin" or the project's name, for the log
    SessionLimits limits;
    std::size_t max_connections = 4096;
    std::optional<asio::any_io_executor> handler_executor;  // see run_session
    std::string audit_project;  // a project socket's project: connections turned away are audited
    // Asked before each accept; false: accept nothing for kAcceptPause, then ask again. Empty: no pacing.
    std::function<bool()> admit_connection;
  };

  // The endpoint's audit events go to audit. live_connections counts the sessions of every listener
  // (shutdown waits for it to reach zero). Both must outlive the pool.
  Listener(IoPool& pool, BoundSocketFile socket_file, std::shared_ptr<Endpoint> endpoint,
           core::AuditLog& audit, Options options, std::atomic<std::size_t>& live_connections);

  void start() override;
  void drain() override;
  void close() override;

  std::size_t connection_count() const;

 private:
  asio::awaitable<void> accept_loop(std::shared_ptr<Listener> self);  // self: alive while accepting
  void serve(UnixSocket socket);
  void forget(const std::shared_ptr<Connection>& connection);
  void stop_accepting();

  IoPool& pool_;
  asio::io_context& io_;  // where the acceptor lives: its accept loop and close() run on that thread
  asio::local::stream_protocol::acceptor acceptor_;
  BoundSocketFile socket_file_;  // its descriptor now belongs to acceptor_; kept to remove the file
  std::shared_ptr<Endpoint> endpoint_;
  core::AuditLog& audit_;
  Options options_;
  std::atomic<std::size_t>& live_connections_;

  mutable std::mutex mutex_;
  std::unordered_set<std::shared_ptr<Connection>> connections_;
  bool closing_ = false;  // under mutex_: no new sessions
};

}  // namespace remo::server
