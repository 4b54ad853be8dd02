#include "broker/transport/session.hpp"

#include <spdlog/spdlog.h>

#include <asio/buffer.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <algorithm>
#include <exception>
#include <string>
#include <utility>

#include "broker/transport/line_budget.hpp"
#include "broker/transport/line_buffer.hpp"
#include "broker/transport/reply.hpp"

namespace remo::server {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kUseTuple = asio::experimental::as_tuple(asio::use_awaitable);
// What an idle connection keeps for its next replies; more goes back after each flush.
constexpr std::size_t kKeptReplyCapacity = 4096;

// Runs one step of a request (handle() or its blocking work). The endpoint's own failures (an allocation,
// a bug) cost this one request, never the broker. A partial reply may hold secret bytes: whatever the step
// had appended is wiped and dropped before the internal_error reply takes its place.
template <typename Step>
void contained(Answers& out, Step&& step) {
  const std::size_t replies_before = out.replies.size();
  const std::size_t events_before = out.audit_events.size();
  const std::size_t lines_before = out.audit_lines.size();
  try {
    step();
  } catch (const std::exception& error) {
    spdlog::error("request failed with an internal error: {}", error.what());
    sodium_memzero(out.replies.data() + replies_before, out.replies.size() - replies_before);
    out.replies.resize(replies_before);
    out.audit_events.resize(events_before);
    out.audit_lines.resize(lines_before);
    append_error(out.replies, nullptr, protocol::code::kInternalError,
                 "the broker could not answer this request");
  }
}

void answer(Endpoint& endpoint, std::string_view line, const PeerCredentials& peer, Answers& out) {
  contained(out, [&] { endpoint.handle(line, peer, out); });
}

// Audit events a session holds before it writes its replies (and then records the events): they are not in
// the line budget, and a client that pipelines thousands of refused lines and never reads its replies
// would otherwise have the broker hold one event per line.
constexpr std::size_t kAuditFlushThreshold = 16;

std::size_t audit_events_held(const Answers& out) { return out.audit_events.size() + out.audit_lines.size(); }

// Answers the complete lines buffered so far, in order. Returns true when it stopped because enough
// replies (or audit events) are queued to be written first, or because a request left blocking work that
// must complete before the next request is answered.
bool answer_buffered(LineBuffer& lines, Endpoint& endpoint, const PeerCredentials& peer, Answers& out,
                     std::size_t flush_threshold) {
  while (out.replies.size() < flush_threshold && audit_events_held(out) < kAuditFlushThreshold) {
    const auto line = lines.next_line();
    if (!line) return false;
    if (line->empty()) {  // a blank line is not a request, and gets no reply, but it costs like one
      endpoint.blank_line(peer, out);
      if (out.over_rate) return true;
      continue;
    }
    answer(endpoint, *line, peer, out);
    if (out.blocking || out.over_rate) return true;
  }
  return true;
}

// The blocking part of a request (see BlockingWork), with the same containment as answer().
void run_blocking(BlockingWork& work, Answers& out) {
  contained(out, [&] { work.run(out); });
}

// The first half of the session's one audit rule (see Answers): events that must be durable are written now,
// by the thread that did the work, before any reply of theirs is written. The rest wait for flush().
void write_durable_events(Answers& out, core::AuditLog& audit) {
  if (std::exchange(out.durable, false)) audit.record_and_wait(out.audit_events, out.audit_lines);
}

// Runs the blocking work a request left on the executor it names, and resumes on the connection's strand
// once it is done. The connection is not idle meanwhile; other connections are not affected at all.
asio::awaitable<void> complete_blocking(Connection& connection, Answers& out, core::AuditLog& audit) {
  BlockingWork work = std::move(*out.blocking);
  out.blocking.reset();
  out.durable = true;  // blocking work changes state durably: its events are written before its reply
  connection.busy = true;
  co_await asio::co_spawn(
      work.executor,
      [&]() -> asio::awaitable<void> {
        run_blocking(work, out);
        write_durable_events(out, audit);
        co_return;
      },
      asio::use_awaitable);
  connection.busy = false;
}

// Writes and wipes the queued replies, then records their audit events (the second half of the audit rule:
// the events that were not durable). False when the client is gone
// (the events are recorded all the same: the requests were made). A client gets one idle period to take
// the replies, and a new one from then on to send its next request. Events with no reply (refused blank
// lines) do not count as activity.
asio::awaitable<bool> flush(Connection& connection, Answers& out, const SessionLimits& limits,
                            core::AuditLog& audit) {
  ReplyBuffer& replies = out.replies;
  // Replies nearly always fit in the socket buffer: write them at once (the socket is non-blocking) and
  // wait only for what did not fit. Besides a suspension, this saves the reactor a poll per request.
  // (The watchdog runs on this strand, so it cannot close the connection during the write_some.)
  asio::error_code error;
  std::size_t written = connection.socket.write_some(asio::buffer(replies.data(), replies.size()), error);
  if (error == asio::error::would_block || error == asio::error::try_again) {
    error.clear();
    written = 0;
  }
  if (!error && written < replies.size()) {
    connection.deadline = Clock::now() + limits.idle_timeout;  // one idle period to take the rest
    if (connection.buffers != nullptr) connection.buffers->hold_replies(replies.capacity());
    const auto [write_error, rest] = co_await asio::async_write(
        connection.socket, asio::buffer(replies.data() + written, replies.size() - written), kUseTuple);
    if (connection.buffers != nullptr) connection.buffers->hold_replies(0);
    error = write_error;
  }
  if (!replies.empty()) connection.deadline = Clock::now() + limits.idle_timeout;  // events alone: no reply
  wipe(replies);
  if (replies.capacity() > kKeptReplyCapacity) ReplyBuffer().swap(replies);  // a big reply's memory goes back
  for (const std::string& line : out.audit_lines) audit.record_line(line);
  out.audit_lines.clear();
  for (nlohmann::json& event : out.audit_events) audit.record(std::move(event));
  out.audit_events.clear();
  co_return !error;
}

// After a refusal for its project's rate, a connection's next line (already buffered or not yet read) is
// answered only after this: however many lines it pipelines, it costs the broker one refusal per pause. A
// client that respects retry_after_seconds (at least 1 s) never notices; one that pipelined a burst past
// its rate is paced to it.
constexpr std::chrono::milliseconds kOverRatePause{100};

asio::awaitable<void> pause_after_refusal(Connection& connection) {
  asio::steady_timer pause(connection.socket.get_executor(), kOverRatePause);
  co_await pause.async_wait(kUseTuple);
}

// Closes the connection once its deadline passes without the session moving it (every reply written moves
// it on). The deadline only ever moves later, so one timer wait per idle period is enough; while the
// control plane is answering (busy), the connection is not idle.
asio::awaitable<void> watch_idle(std::shared_ptr<Connection> connection, Clock::duration idle_timeout) {
  while (!connection->finished) {
    connection->idle_timer.expires_at(connection->deadline);
    co_await connection->idle_timer.async_wait(kUseTuple);
    if (connection->finished) co_return;
    const auto now = Clock::now();
    if (connection->busy) connection->deadline = std::max(connection->deadline, now + idle_timeout);
    if (now < connection->deadline) continue;
    spdlog::debug("closing an idle connection");
    asio::error_code ignored;
    connection->socket.close(ignored);
    co_return;
  }
}

// Ends the connection however the session ends: the watchdog stops, the socket closes.
class EndOnExit {
 public:
  explicit EndOnExit(Connection& connection) : connection_(connection) {}
  ~EndOnExit() {
    connection_.finished = true;
    connection_.buffers = nullptr;  // the session's share ends with it
    try {
      connection_.idle_timer.cancel();
    } catch (const std::exception&) {  // cannot fail in practice; the watchdog then ends at its deadline
    }
    asio::error_code ignored;
    connection_.socket.close(ignored);
  }
  EndOnExit(const EndOnExit&) = delete;
  EndOnExit& operator=(const EndOnExit&) = delete;

 private:
  Connection& connection_;
};

// Answers, flushes and paces everything the connection has buffered. False when the session must end: the
// client is gone, a line was over the limit, or the connection is draining.
asio::awaitable<bool> answer_available(Connection& conn, LineBuffer& lines, Endpoint& endpoint,
                                       const PeerCredentials& peer, Answers& out, core::AuditLog& audit,
                                       const SessionLimits& limits,
                                       const std::optional<asio::any_io_executor>& handler_executor) {
  for (bool more = true; more;) {
    if (!handler_executor) {
      more = answer_buffered(lines, endpoint, peer, out, limits.reply_flush_threshold);
      write_durable_events(out, audit);
    } else if (lines.has_line()) {  // hop only when there is something to answer
      conn.busy = true;             // the control plane may take a while: that is not idleness
      more = co_await asio::co_spawn(
          *handler_executor,
          [&]() -> asio::awaitable<bool> {
            const bool stopped = answer_buffered(lines, endpoint, peer, out, limits.reply_flush_threshold);
            write_durable_events(out, audit);
            co_return stopped;
          },
          asio::use_awaitable);
      conn.busy = false;
    } else {
      more = false;
    }
    if (out.blocking) co_await complete_blocking(conn, out, audit);
    if (lines.overflowed()) {
      endpoint.line_too_long(peer, out);
      append_error(out.replies, nullptr, protocol::code::kProtocolError,
                   "request line longer than " + std::to_string(limits.line_limit) + " bytes; closing");
      co_await flush(conn, out, limits, audit);
      co_return false;
    }
    // Audit events alone (refused blank lines have no reply) are flushed too: answer_buffered stops at
    // kAuditFlushThreshold of them.
    const bool queued = !out.replies.empty() || audit_events_held(out) > 0;
    if (queued && !co_await flush(conn, out, limits, audit)) co_return false;
    if (std::exchange(out.over_rate, false)) {
      co_await pause_after_refusal(conn);  // see kOverRatePause
      if (conn.draining) co_return false;  // what is left was sent past the rate: shutdown need not wait
    }
  }
  co_return !conn.draining;
}

}  // namespace

Connection::Connection(UnixSocket client) : socket(std::move(client)), idle_timer(socket.get_executor()) {}

void Connection::drain() {
  asio::post(socket.get_executor(), [self = shared_from_this()] {
    self->draining = true;
    asio::error_code ignored;
    if (self->reading) self->socket.cancel(ignored);  // nothing is half-answered while reading
  });
}

void Connection::cut() {
  asio::post(socket.get_executor(), [self = shared_from_this()] {
    self->draining = true;
    asio::error_code ignored;
    self->socket.close(ignored);
  });
}

asio::awaitable<void> run_session(std::shared_ptr<Connection> connection, PeerCredentials peer,
                                  Endpoint& endpoint, core::AuditLog& audit, SessionLimits limits,
                                  std::optional<asio::any_io_executor> handler_executor) {
  Connection& conn = *connection;
  const EndOnExit end_on_exit(conn);
  asio::error_code non_blocking_error;
  conn.socket.non_blocking(true, non_blocking_error);  // flush() writes without waiting when it can
  if (non_blocking_error) co_return;
  Answers out;
  if (!endpoint.admit(peer, out)) {
    append_error(out.replies, nullptr, protocol::code::kPeerUnexpected,
                 "uid " + std::to_string(peer.uid) + " may not use this socket");
    co_await flush(conn, out, limits, audit);
    co_return;
  }
  conn.deadline = Clock::now() + limits.idle_timeout;
  asio::co_spawn(conn.socket.get_executor(), watch_idle(connection, limits.idle_timeout), asio::detached);

  BufferBudget::Share buffers = join_line_budget(limits.line_budget, connection, &endpoint);
  conn.buffers = &buffers;
  LineBuffer lines(limits.line_limit, &buffers);
  for (;;) {
    if (!co_await answer_available(conn, lines, endpoint, peer, out, audit, limits, handler_executor))
      co_return;

    // The deadline is not moved here: bytes that do not complete a request are not activity, so a client
    // trickling a line byte by byte is closed like one that sends nothing.
    conn.reading = true;
    const std::span<char> space = lines.prepare();
    const auto [error, received] =
        co_await conn.socket.async_read_some(asio::buffer(space.data(), space.size()), kUseTuple);
    conn.reading = false;
    if (error) co_return;  // the client left, the idle watchdog closed it, or drain() cancelled the read
    lines.commit(received);
  }
}

}  // namespace remo::server
