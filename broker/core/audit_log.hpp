// AuditLog: JSON lines, written off the request path by one background thread.
// record() never blocks on I/O, and wakes the writer only when it is idle: once woken, the writer gathers
// the events of the next millisecond (or 512 of them, or until someone flushes) into one write. When the file
// cannot be written (disk full, file removed, directory gone) events are kept in a bounded queue, the
// degradation is logged once, and writing resumes (re-opening the file) when the disk recovers. Events beyond
// the bound are counted as dropped and the count is written as an "audit.dropped" event on recovery. A file
// removed or renamed away (log rotation) is noticed within retry_interval and re-created at the path. An
// event never carries a secret value.
#pragma once

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

namespace remo::core {

class AuditLog {
 public:
  struct Options {
    std::filesystem::path file;
    std::size_t max_pending = 10000;
    std::chrono::milliseconds retry_interval{500};
  };

  explicit AuditLog(Options options);
  ~AuditLog();  // flushes what it can, then stops
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Adds "time" (RFC 3339 UTC with microseconds) if absent, then queues the event.
  void record(nlohmann::json event);
  // An event already serialized as one JSON object without "time" ({"event":...}, no newline): "time" is
  // put first and the line queued, with no JSON tree built. The caller guarantees it is valid JSON.
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

 private:
  void run();
  void enqueue(std::string line);

  Options options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;     // the writer waits here for events or stop
  std::condition_variable drained_;  // flush() waits here
  std::deque<std::string> pending_;  // serialized lines, each ending in '\n'
  std::size_t in_flight_ = 0;        // lines the writer has taken and not yet settled
  std::uint64_t dropped_ = 0;        // total since start
  std::uint64_t unreported_drops_ = 0;
  bool drop_warned_ = false;
  bool degraded_ = false;
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
