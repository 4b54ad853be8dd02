#include "broker/core/lock_state.hpp"

#include <nlohmann/json.hpp>

#include "broker/core/state_file.hpp"
#include "broker/core/timestamp.hpp"
#include "protocol/codes.hpp"

namespace remo::core {
namespace {

using nlohmann::json;

std::chrono::system_clock::time_point to_second(std::chrono::system_clock::time_point when) {
  return std::chrono::floor<std::chrono::seconds>(when);
}

}  // namespace

LockState::LockState(std::filesystem::path file) : file_(std::move(file)) {
  auto bytes = read_file_if_exists(file_);
  if (!bytes) {
    problem_ = bytes.error().message;
  } else if (bytes->has_value()) {
    try {
      const json doc = json::parse((*bytes)->begin(), (*bytes)->end());
      info_.locked = doc.at("locked").get<bool>();
      info_.by = doc.at("by").get<std::string>();
      info_.reason = doc.value("reason", std::string());  // files written before reasons existed lack it
      info_.at =
          std::chrono::system_clock::time_point(std::chrono::seconds(doc.at("at_unix").get<std::int64_t>()));
    } catch (const json::exception& e) {
      problem_ = file_.string() + ": " + e.what();
    }
  }
  if (problem_) {
    info_ = Info{true, "broker", "the lock file could not be read", std::nullopt};
  }
  locked_.store(info_.locked, std::memory_order_relaxed);
}

Result<void> LockState::save(const Info& next) {
  const auto at = next.at.value_or(std::chrono::system_clock::time_point{});
  const json doc{
      {"locked", next.locked},
      {"by", next.by},
      {"reason", next.reason},
      {"at", format_rfc3339_utc(at)},
      {"at_unix", std::chrono::duration_cast<std::chrono::seconds>(at.time_since_epoch()).count()}};
  return write_file_atomically(file_, doc.dump() + "\n", 0600);
}

Result<bool> LockState::lock(std::string_view by, std::string_view reason,
                             std::chrono::system_clock::time_point now) {
  const std::lock_guard hold(mutex_);
  if (info_.locked && !problem_) return false;
  locked_.store(true, std::memory_order_relaxed);  // first: stop serving now, whatever the disk does
  Info next{true, std::string(by), std::string(reason), to_second(now)};
  auto saved = save(next);
  info_ = std::move(next);
  if (!saved) {
    // Kept as the problem so that status shows it and the next lock() tries to save again.
    problem_ = "the lock could not be saved and will not survive a restart: " + saved.error().message;
    return Error{std::string(protocol::code::kInternalError), "the broker is locked now, but " + *problem_};
  }
  problem_.reset();
  return true;
}

Result<bool> LockState::unlock(std::string_view by, std::chrono::system_clock::time_point now) {
  const std::lock_guard hold(mutex_);
  if (!info_.locked) return false;
  Info next{false, std::string(by), std::string(), to_second(now)};
  auto saved = save(next);
  if (!saved) {
    return Error{std::string(protocol::code::kInternalError),
                 "the broker stays locked: the unlocked state could not be saved: " + saved.error().message};
  }
  info_ = std::move(next);
  problem_.reset();
  locked_.store(false, std::memory_order_relaxed);
  return true;
}

LockState::Info LockState::info() const {
  const std::lock_guard hold(mutex_);
  return info_;
}

std::optional<std::string> LockState::problem() const {
  const std::lock_guard hold(mutex_);
  return problem_;
}

}  // namespace remo::core
