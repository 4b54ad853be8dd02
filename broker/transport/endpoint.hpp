// Endpoint: what a socket's sessions talk to. The session owns the bytes (framing, limits, ordering,
// timeouts); the endpoint owns the meaning (who may connect, what each op does).
#pragma once

#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include <asio/any_io_executor.hpp>
#include <nlohmann/json.hpp>

#include "broker/transport/peer_credentials.hpp"
#include "broker/transport/reply_buffer.hpp"

namespace remo::server {

struct Answers;

// The rest of a request whose answer waits on the disk: a one-shot secret op returns only once its group
// commit is durable (encrypt, fsync, rename, fsync dir). handle() leaves it in Answers::blocking instead
// of answering; the session runs it on `executor` (threads kept for such waits, never the threads that
// serve connections, so no other client's request waits behind an fsync) and answers the connection's
// next request only after it. run appends the request's one reply line, and its audit events, which the
// session writes before that reply (blocking work is always durable).
struct BlockingWork {
  asio::any_io_executor executor;
  std::function<void(Answers&)> run;
};

// What an endpoint produces for a batch of requests: the reply lines, their audit events, and whether those
// events must be durable before the replies leave. The session applies one rule to every answer: durable
// events are in the audit file before the replies are written, on the thread that did the work (so no
// connection thread waits on the disk), and a crash the change survives cannot lose its audit line; other
// events are recorded once the replies are on their way, so waking the audit writer is never on a get's
// path. The admin socket's ops and blocking work (one-shot secrets) change state durably and say so.
struct Answers {
  ReplyBuffer replies;
  std::vector<nlohmann::json> audit_events;
  // The hot path's events (secret.get) as JSON object text without "time" (audit::add_get_line): written
  // straight into text, with no JSON tree built per get (docs/benchmarks.md has the measurement).
  std::vector<std::string> audit_lines;
  std::optional<BlockingWork> blocking;  // set by handle() in place of a reply (see BlockingWork)
  // Set by a handler whose events must be in the audit file before its reply leaves (and by the session for
  // blocking work, which is always durable).
  bool durable = false;
  // Set by a refusal for being over the rate: the session writes the replies so far and answers the
  // connection's next line (buffered or not) only after a pause, so a client flooding refused lines costs
  // one refusal per pause and a neighbour waits behind one line, not a batch.
  bool over_rate = false;
};

class Endpoint {
 public:
  virtual ~Endpoint() = default;

  // Whether this peer may use the socket. A refusal adds its audit event to out; the session then
  // replies peer_unexpected and closes the connection.
  virtual bool admit(const PeerCredentials& peer, Answers& out) = 0;

  // Answers one request line (without its '\n'): exactly one reply line appended to out.replies, and the
  // request's audit events, if any, to out.audit_events (or out.audit_lines); or, for a request that must
  // wait on the disk, nothing but out.blocking, which then appends them.
  virtual void handle(std::string_view line, const PeerCredentials& peer, Answers& out) = 0;

  // A line over the socket's line limit arrived (the session then replies protocol_error and closes): the
  // endpoint may charge and audit it.
  virtual void line_too_long(const PeerCredentials& /*peer*/, Answers& /*out*/) {}
  // A blank line arrived: it is not answered, but a socket that must charge every line charges it here
  // (setting out.over_rate when refused).
  virtual void blank_line(const PeerCredentials& /*peer*/, Answers& /*out*/) {}
};

}  // namespace remo::server
