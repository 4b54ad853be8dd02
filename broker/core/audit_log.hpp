// AuditLog: JSON lines, written off the request path by one background thread.
// record() never blocks on I/O, and wakes the writer only when it is idle: once woken, the writer gathers
// the events of the next millisecond (or 512 of them, or until someone flushes) into one write. When the file
// cannot be written (disk full, file removed, directory gone) events are kept in a queue, the degradation is
// logged once, and writing resumes (re-opening the file) when the disk recovers. A file removed or renamed
// away is noticed within retry_interval and re-created at the path; with file_limits the file rotates by
// size by itself (audit_file.hpp). An event never carries a secret value.
//
// Refusals (decision "deny", see audit_aggregator.hpp) are grouped: the first of a (project, peer uid,
// outcome) in each second is written, the rest are counted into one "audit.suppressed" line per second.
//
// Failing closed (fail_closed): accepting() is false while the writer is degraded (its last write, or the
// top-up of the file's reserve, failed), more than admit_pending events wait, or the waiting lines take
// more than half the file's reserve; callers then refuse the audited op. The lines admitted before the
// writer finds the disk full therefore fit in what is left of the reserve, and are written even then. Events
// other than refusals are never dropped, so every op admitted is written once the disk allows. Without
// fail_closed (the "serve" setting) accepting() is always true and any event beyond max_pending is dropped,
// counted, and reported as an "audit.dropped" event on recovery. Refusals beyond max_pending are dropped that
// way in both modes.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "broker/core/audit_aggregator.hpp"
#include "broker/core/audit_file.hpp"

namespace remo::core {

class AuditLog {
 public:
  struct Options {
    std::filesystem::path file;
    std::size_t max_pending = 10000;
    std::chrono::milliseconds retry_interval{500};
    bool fail_closed = false;
    std::size_t admit_pending = 0;  // accepting() bound on waiting events; 0: max_pending / 2
    AuditFile::Limits file_limits{};
  };

  struct Health {
    bool accepting = true;
    bool degraded = false;
    int error = 0;  // errno of the failed write or reserve, when degraded
    std::size_t pending = 0;
    std::uint64_t dropped = 0;
    std::uint64_t suppressed = 0;
  };

  // What the daemon keeps allocated beyond the end of the file: room for the lines of the requests
  // admitted before the writer notices a full disk. Half of it (2 MiB, about 9,000 get lines) holds more
  // than the admit_pending bound of waiting events, so under load it is the count of waiting events that
  // decides when audited ops are refused, and the bytes only when lines are unusually long.
  static constexpr std::uint64_t kReserveBytes = 4 * 1024 * 1024;

  explicit AuditLog(Options options);
  ~AuditLog();  // flushes what it can, then stops
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Adds "time" (RFC 3339 UTC with microseconds) if absent, then queues the event (or counts it, for a
  // refusal past the first of its group in this second).
  void record(nlohmann::json event);
  // An event already serialized as one JSON object without "time" ({"event":...}, no newline): "time" is
  // put first and the line queued, with no JSON tree built. The caller guarantees it is valid JSON and
  // that it is not a refusal (it is never grouped, nor dropped when failing closed): the allowed gets.
  void record_line(std::string_view object_text);
  // Queues the events in order (moving them out) and returns once they are in the file -- written, not
  // fsynced: they survive a crash of the broker, not of the machine -- or once the writer is degraded
  // (they stay queued, as record()'s do). For replies that promise durability: their audit line must not
  // be lost to a crash that the reply's effect survives.
  void record_and_wait(std::vector<nlohmann::json>& events);
  void record_and_wait(std::vector<nlohmann::json>& events, std::vector<std::string>& lines);
  // Waits until everything queued so far has been written or the writer is degraded (for tests/shutdown).
  void flush();

  std::uint64_t dropped() const;
  // Events recorded since start (queued or dropped): a cheap measure of activity.
  std::uint64_t recorded() const;
  bool degraded() const;
  // Whether an audited op may go ahead now (see above). One atomic load: safe on the get path.
  bool accepting() const noexcept { return accepting_.load(std::memory_order_relaxed); }
  Health health() const;
  const Options& options() const noexcept { return options_; }

 private:
  void run();
  void wait_for_work(std::unique_lock<std::mutex>& lock, AuditFile::Clock::time_point next_attempt);
  bool settle(std::unique_lock<std::mutex>& lock, std::deque<std::string>& batch, std::uint64_t drops,
              std::size_t lines_written, int error, bool stopping);
  void enqueue(std::string line, bool droppable);
  bool counted_as_refusal(const nlohmann::json& event);
  void queue_summaries_locked();
  void update_accepting_locked();
  // One write attempt with the writer's file: open it, append text, keep its reserve. 0 or an errno.
  int write_out(AuditFile& file, const std::string& text, std::size_t& lines_written);

  Options options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;     // the writer waits here for events or stop
  std::condition_variable drained_;  // flush() waits here
  std::deque<std::string> pending_;  // serialized lines, each ending in '\n'
  std::size_t in_flight_ = 0;        // lines the writer has taken and not yet settled
  std::size_t queued_bytes_ = 0;     // bytes of pending_ and of the lines in flight
  std::size_t admit_bytes_ = 0;      // accepting() bound on queued_bytes_: half the file's reserve; 0: none
  std::uint64_t dropped_ = 0;        // total since start
  std::uint64_t unreported_drops_ = 0;
  bool drop_warned_ = false;
  bool degraded_ = false;
  int last_error_ = 0;
  std::atomic<bool> accepting_{true};
  RefusalAggregator refusals_;
  bool stopping_ = false;
  bool writer_idle_ = false;       // the writer waits for events: record() wakes it
  bool gathering_ = false;         // the writer lets events accumulate before writing them
  std::size_t flush_waiters_ = 0;  // flush() callers waiting: the writer does not gather for them
  static constexpr std::chrono::microseconds kGatherWindow{1000};
  static constexpr std::size_t kGatherMax = 512;
  std::uint64_t enqueued_ = 0;
  std::uint64_t settled_ = 0;  // written, or abandoned at shutdown
  std::thread writer_;         // last: starts once everything above is initialised
};

}  // namespace remo::core
