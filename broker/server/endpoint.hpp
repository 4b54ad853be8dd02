// Endpoint: what a socket's sessions talk to. The session owns the bytes (framing, limits, ordering,
// timeouts); the endpoint owns the meaning (who may connect, what each op does).
#pragma once

#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "broker/server/peer_credentials.hpp"
#include "broker/server/reply_buffer.hpp"

namespace remo::server {

// What an endpoint produces for a batch of requests: the reply lines, and the audit events that the
// session records once those replies are on their way, so that waking the audit writer is never on a
// reply's path.
struct Answers {
  ReplyBuffer replies;
  std::vector<nlohmann::json> audit_events;
};

class Endpoint {
 public:
  virtual ~Endpoint() = default;

  // Whether this peer may use the socket. A refusal adds its audit event to out; the session then
  // replies peer_unexpected and closes the connection.
  virtual bool admit(const PeerCredentials& peer, Answers& out) = 0;

  // Answers one request line (without its '\n'): exactly one reply line appended to out.replies, and the
  // request's audit events, if any, to out.audit_events.
  virtual void handle(std::string_view line, const PeerCredentials& peer, Answers& out) = 0;
};

}  // namespace remo::server
