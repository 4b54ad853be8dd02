// Endpoint: what a socket's sessions talk to. The session owns the bytes (framing, limits, ordering,
// timeouts); the endpoint owns the meaning (who may connect, what each op does).
#pragma once

#include <string_view>

#include "broker/server/peer_credentials.hpp"
#include "broker/server/reply_buffer.hpp"

namespace remo::server {

class Endpoint {
 public:
  virtual ~Endpoint() = default;

  // Whether this peer may use the socket. A refusal is audited here; the session then replies
  // peer_unexpected and closes the connection.
  virtual bool admit(const PeerCredentials& peer) = 0;

  // Answers one request line (without its '\n') with exactly one reply line appended to out.
  virtual void handle(std::string_view line, const PeerCredentials& peer, ReplyBuffer& out) = 0;
};

}  // namespace remo::server
