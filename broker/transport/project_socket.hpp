// ProjectSocket: what the project registry holds of a bound project socket (the Listener implements it), so
// that the registry starts, drains and closes sockets without knowing how they serve.
#pragma once

namespace remo::server {

// A bound project socket.
class ProjectSocket {
 public:
  virtual ~ProjectSocket() = default;
  virtual void start() = 0;  // begins accepting connections
  virtual void drain() = 0;  // stops accepting; connections answer what they have received, then close
  virtual void close() = 0;  // stops accepting, cuts every connection, removes the socket file
};

}  // namespace remo::server
