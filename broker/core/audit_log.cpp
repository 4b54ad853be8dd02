#include "broker/core/audit_log.hpp"

#include <spdlog/spdlog.h>

#include <system_error>
#include <utility>

#include "broker/core/audit_file.hpp"
#include "broker/core/timestamp.hpp"

namespace remo::core {
namespace {

using nlohmann::json;

std::string serialize(const json& event) {
  // An event is diagnostic text from our own code; a stray invalid UTF-8 byte (a path, a peer's process
  // name) must not cost the whole line.
  return event.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string errno_text(int error) { return std::generic_category().message(error); }

}  // namespace

AuditLog::AuditLog(Options options) : options_(std::move(options)) {
  writer_ = std::thread([this] { run(); });
}

AuditLog::~AuditLog() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  writer_.join();
}

void AuditLog::record(json event) {
  if (!event.is_object()) event = json{{"event", "audit.malformed"}};
  if (!event.contains("time")) event["time"] = format_rfc3339_utc(std::chrono::system_clock::now());
  enqueue(serialize(event));
}

void AuditLog::record_line(std::string_view object_text) {
  if (object_text.size() < 2 || object_text.front() != '{' || object_text.back() != '}') {
    return record(json{{"event", "audit.malformed"}});
  }
  std::string line = R"({"time":")";
  line.reserve(object_text.size() + 48);
  line += format_rfc3339_utc(std::chrono::system_clock::now());
  line += object_text.size() > 2 ? "\"," : "\"";
  line.append(object_text.substr(1));
  line += '\n';
  enqueue(std::move(line));
}

void AuditLog::enqueue(std::string line) {
  bool warn_first_drop = false;
  bool wake = false;
  {
    const std::lock_guard lock(mutex_);
    if (pending_.size() + in_flight_ >= options_.max_pending) {
      ++dropped_;
      ++unreported_drops_;
      // While degraded the writer has already said events are piling up; one warning per episode.
      warn_first_drop = !std::exchange(drop_warned_, true) && !degraded_;
    } else {
      pending_.push_back(std::move(line));
      ++enqueued_;
    }
    // Only an idle writer needs waking, or a gathering one whose batch is full: a futex wake per event
    // was a sixth of a get's cost under load.
    wake = writer_idle_ || (gathering_ && pending_.size() == kGatherMax);
  }
  if (wake) wake_.notify_one();
  if (warn_first_drop) {
    spdlog::warn("audit log {}: {} events are waiting to be written; dropping new events until it catches up",
                 options_.file.string(), options_.max_pending);
  }
}

void AuditLog::record_and_wait(std::vector<json>& events) {
  for (json& event : events) record(std::move(event));
  events.clear();
  flush();
}

void AuditLog::record_and_wait(std::vector<json>& events, std::vector<std::string>& lines) {
  for (const std::string& line : lines) record_line(line);
  lines.clear();
  record_and_wait(events);
}

void AuditLog::flush() {
  std::unique_lock lock(mutex_);
  const std::uint64_t target = enqueued_;
  ++flush_waiters_;  // the writer stops gathering and writes at once
  wake_.notify_one();
  drained_.wait(lock, [&] { return settled_ >= target || degraded_; });
  --flush_waiters_;
}

std::uint64_t AuditLog::dropped() const {
  const std::lock_guard lock(mutex_);
  return dropped_;
}

std::uint64_t AuditLog::recorded() const {
  const std::lock_guard lock(mutex_);
  return enqueued_ + dropped_;
}

bool AuditLog::degraded() const {
  const std::lock_guard lock(mutex_);
  return degraded_;
}

// One pass per wake-up: take everything queued, write it with one append, settle what was written and
// put the rest back at the front. While degraded, passes happen every retry_interval.
void AuditLog::run() {
  AuditFile file(options_.file);
  auto next_attempt = AuditFile::Clock::time_point{};
  std::unique_lock lock(mutex_);
  for (;;) {
    if (degraded_ && !stopping_) {
      wake_.wait_until(lock, next_attempt, [&] { return stopping_; });
    } else {
      writer_idle_ = true;
      wake_.wait(lock, [&] { return stopping_ || !pending_.empty() || unreported_drops_ > 0; });
      writer_idle_ = false;
      // Let the events of the next moments join this write, unless someone waits for it.
      gathering_ = true;
      wake_.wait_for(lock, kGatherWindow,
                     [&] { return stopping_ || flush_waiters_ > 0 || pending_.size() >= kGatherMax; });
      gathering_ = false;
    }
    if (pending_.empty() && unreported_drops_ == 0) {
      if (stopping_) break;
      next_attempt = AuditFile::Clock::now() + options_.retry_interval;
      continue;
    }

    std::deque<std::string> batch;
    batch.swap(pending_);
    in_flight_ = batch.size();
    const std::uint64_t drops = unreported_drops_;
    const bool stopping = stopping_;
    lock.unlock();

    std::string text;
    if (drops > 0) {
      text = serialize({{"event", "audit.dropped"},
                        {"count", drops},
                        {"time", format_rfc3339_utc(std::chrono::system_clock::now())}});
    }
    for (const std::string& line : batch) text += line;
    const auto now = AuditFile::Clock::now();
    AuditFile::AppendResult result{0, file.ensure_open(now, options_.retry_interval)};
    if (result.error == 0) result = file.append(text);
    if (result.error != 0) file.close();  // re-open on the next attempt

    lock.lock();
    std::size_t events_written = result.lines_written;
    if (drops > 0 && result.lines_written > 0) {
      --events_written;  // the first line was the drop report
      unreported_drops_ -= drops;
      drop_warned_ = false;
    }
    settled_ += events_written;
    for (auto it = batch.rbegin(); it != batch.rend() - static_cast<std::ptrdiff_t>(events_written); ++it) {
      pending_.push_front(std::move(*it));
    }
    in_flight_ = 0;

    const bool newly_degraded = result.error != 0 && !degraded_;
    const bool recovered = result.error == 0 && degraded_;
    degraded_ = result.error != 0;
    next_attempt = now + options_.retry_interval;
    const bool giving_up = degraded_ && stopping;
    std::uint64_t lost = 0;
    if (giving_up) {
      lost = pending_.size() + unreported_drops_;
      settled_ += pending_.size();
      pending_.clear();
    }
    drained_.notify_all();

    lock.unlock();
    if (newly_degraded) {
      spdlog::warn("audit log {}: cannot write ({}); keeping up to {} events in memory and retrying",
                   options_.file.string(), errno_text(result.error), options_.max_pending);
    }
    if (recovered) {
      spdlog::info("audit log {}: writing again ({} events had to be dropped)", options_.file.string(),
                   drops);
    }
    if (giving_up) {
      spdlog::error("audit log {}: stopping with {} events unwritten ({})", options_.file.string(), lost,
                    errno_text(result.error));
      return;
    }
    lock.lock();
  }
}

}  // namespace remo::core
