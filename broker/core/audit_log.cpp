#include "broker/core/audit_log.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
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

std::int64_t unix_second(std::chrono::system_clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::seconds>(time.time_since_epoch()).count();
}

bool is_deny(const json& event) {
  const auto decision = event.find("decision");
  return decision != event.end() && decision->is_string() &&
         decision->get_ref<const std::string&>() == "deny";
}

}  // namespace

AuditLog::AuditLog(Options options) : options_(std::move(options)) {
  if (options_.admit_pending == 0)
    options_.admit_pending = std::max<std::size_t>(1, options_.max_pending / 2);
  admit_bytes_ = options_.file_limits.reserve_bytes / 2;  // until the file says how big its reserve is
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
  if (counted_as_refusal(event)) return;
  if (!event.contains("time")) event["time"] = format_rfc3339_utc(std::chrono::system_clock::now());
  enqueue(serialize(event), is_deny(event));
}

// A refusal past the first of its group in this second is counted instead of written.
bool AuditLog::counted_as_refusal(const json& event) {
  const auto key = RefusalAggregator::key_of(event);
  if (!key) return false;
  const auto name = event.find("event");
  const std::string_view event_name =
      name != event.end() && name->is_string() ? std::string_view(name->get_ref<const std::string&>()) : "";
  bool wake = false;
  {
    const std::lock_guard lock(mutex_);
    const bool had_counts = refusals_.has_counts();
    if (refusals_.admit(*key, event_name, unix_second(std::chrono::system_clock::now()))) return false;
    wake = !had_counts && writer_idle_;  // the writer now has a summary to write when this second ends
  }
  if (wake) wake_.notify_one();
  return true;
}

// Summaries of the seconds that are over join the queue. mutex_ held.
void AuditLog::queue_summaries_locked() {
  if (!refusals_.has_counts()) return;
  const auto now = std::chrono::system_clock::now();
  for (json& summary : refusals_.take_finished(unix_second(now))) {
    summary["time"] = format_rfc3339_utc(now);
    pending_.push_back(serialize(summary));
    queued_bytes_ += pending_.back().size();
    ++enqueued_;
  }
}

// mutex_ held.
void AuditLog::update_accepting_locked() {
  // The byte bound keeps what is admitted and unwritten within the file's reserve: should the disk fill,
  // those lines still fit.
  const bool accepting =
      !options_.fail_closed || (!degraded_ && pending_.size() + in_flight_ < options_.admit_pending &&
                                (admit_bytes_ == 0 || queued_bytes_ < admit_bytes_));
  if (accepting_.load(std::memory_order_relaxed) != accepting) {
    accepting_.store(accepting, std::memory_order_relaxed);
  }
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
  enqueue(std::move(line), false);
}

void AuditLog::enqueue(std::string line, bool droppable) {
  bool warn_first_drop = false;
  bool wake = false;
  {
    const std::lock_guard lock(mutex_);
    const bool kept = options_.fail_closed && !droppable;  // an admitted op's line waits for the disk
    if (!kept && pending_.size() + in_flight_ >= options_.max_pending) {
      ++dropped_;
      ++unreported_drops_;
      // While degraded the writer has already said events are piling up; one warning per episode.
      warn_first_drop = !std::exchange(drop_warned_, true) && !degraded_;
    } else {
      queued_bytes_ += line.size();
      pending_.push_back(std::move(line));
      ++enqueued_;
      update_accepting_locked();
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

AuditLog::Health AuditLog::health() const {
  const std::lock_guard lock(mutex_);
  return Health{accepting(),
                degraded_,
                degraded_ ? last_error_ : 0,
                pending_.size() + in_flight_,
                dropped_,
                refusals_.suppressed_total()};
}

int AuditLog::write_out(AuditFile& file, const std::string& text, std::size_t& lines_written) {
  lines_written = 0;
  if (const int error = file.ensure_open(AuditFile::Clock::now(), options_.retry_interval); error != 0) {
    return error;
  }
  if (!text.empty()) {
    const AuditFile::AppendResult result = file.append(text);
    lines_written = result.lines_written;
    if (result.error != 0) return result.error;
  }
  return file.ensure_reserve();
}

// Waits until there are events to write, stop, or (degraded) the next retry. Summaries of refusals are
// queued when their second ends. mutex_ held via lock.
void AuditLog::wait_for_work(std::unique_lock<std::mutex>& lock, AuditFile::Clock::time_point next_attempt) {
  if (degraded_ && !stopping_) {
    wake_.wait_until(lock, next_attempt, [&] { return stopping_; });
    queue_summaries_locked();
    return;
  }
  writer_idle_ = true;
  while (!stopping_ && pending_.empty() && unreported_drops_ == 0) {
    if (!refusals_.has_counts()) {
      wake_.wait(lock);
      continue;
    }
    const auto now = std::chrono::system_clock::now();
    wake_.wait_until(lock, std::chrono::system_clock::time_point(std::chrono::seconds(unix_second(now) + 1)));
    queue_summaries_locked();
  }
  writer_idle_ = false;
  // Let the events of the next moments join this write, unless someone waits for it.
  gathering_ = true;
  wake_.wait_for(lock, kGatherWindow,
                 [&] { return stopping_ || flush_waiters_ > 0 || pending_.size() >= kGatherMax; });
  gathering_ = false;
  queue_summaries_locked();
}

// One pass per wake-up: take everything queued, write it with one append, settle what was written and
// put the rest back at the front. While degraded, passes happen every retry_interval, with or without
// events: a pass also re-checks the file and its reserve, and ends the degradation when both are fine.
void AuditLog::run() {
  AuditFile file(options_.file, options_.file_limits);
  auto next_attempt = AuditFile::Clock::time_point{};
  std::unique_lock lock(mutex_);
  for (;;) {
    wait_for_work(lock, next_attempt);
    const bool nothing_queued = pending_.empty() && unreported_drops_ == 0;
    if (nothing_queued && (stopping_ || !degraded_)) {
      if (stopping_) break;
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
    std::size_t lines_written = 0;
    const int error = write_out(file, text, lines_written);
    if (error != 0) file.close();  // re-open on the next attempt
    const auto now = AuditFile::Clock::now();

    lock.lock();
    admit_bytes_ = file.reserve_size() / 2;
    if (!settle(lock, batch, drops, lines_written, error, stopping)) return;
    next_attempt = now + options_.retry_interval;
  }
}

// Books the outcome of one pass: what was written is settled, the rest goes back to the front of the
// queue. Returns false when the writer gives up (degraded while stopping). lock is released around the
// logging and held again when it returns true.
bool AuditLog::settle(std::unique_lock<std::mutex>& lock, std::deque<std::string>& batch, std::uint64_t drops,
                      std::size_t lines_written, int error, bool stopping) {
  std::size_t events_written = lines_written;
  if (drops > 0 && lines_written > 0) {
    --events_written;  // the first line was the drop report
    unreported_drops_ -= drops;
    drop_warned_ = false;
  }
  settled_ += events_written;
  for (std::size_t i = 0; i < events_written; ++i) queued_bytes_ -= batch[i].size();
  for (auto it = batch.rbegin(); it != batch.rend() - static_cast<std::ptrdiff_t>(events_written); ++it) {
    pending_.push_front(std::move(*it));
  }
  in_flight_ = 0;

  const bool newly_degraded = error != 0 && !degraded_;
  const bool recovered = error == 0 && degraded_;
  degraded_ = error != 0;
  last_error_ = error;
  const bool giving_up = degraded_ && stopping;
  std::uint64_t lost = 0;
  if (giving_up) {
    lost = pending_.size() + unreported_drops_;
    settled_ += pending_.size();
    pending_.clear();
    queued_bytes_ = 0;
  }
  update_accepting_locked();
  drained_.notify_all();

  lock.unlock();
  if (newly_degraded) {
    spdlog::warn(
        "audit log {}: cannot write ({}); {} until it can, retrying every {} ms", options_.file.string(),
        errno_text(error),
        options_.fail_closed ? "refusing audited requests" : "serving anyway (audit_failure = serve)",
        options_.retry_interval.count());
  }
  if (recovered) {
    spdlog::info("audit log {}: writing again ({} events had to be dropped)", options_.file.string(), drops);
  }
  if (giving_up && lost > 0) {
    spdlog::error("audit log {}: stopping with {} events unwritten ({})", options_.file.string(), lost,
                  errno_text(error));
  }
  if (giving_up) return false;
  lock.lock();
  return true;
}

}  // namespace remo::core
