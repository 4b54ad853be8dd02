// LockState: the kill switch. While locked, the data plane refuses every request with "locked".
//
// The flag lives in state_dir/locked.json, rewritten atomically on every change and read at start, so a
// lock survives restarts:
//   {"locked":true,"by":"uid 0","reason":"laptop
//   stolen","at":"2024-05-01T12:34:56.000000Z","at_unix":1714566896}
//
// It fails closed:
//   - lock() takes effect in memory at once, before the write, so requests stop even when the disk
//     fails; the error then says the lock will not survive a restart.
//   - unlock() takes effect only once the unlocked state is durable; on error the broker stays locked.
//   - A file that exists but cannot be read or parsed loads as locked, with problem() saying why.
//
// Changes are idempotent: locking a locked broker (or unlocking an unlocked one) changes nothing and
// reports changed = false, so a retried admin command keeps the first lock's time and reason. The one
// exception is a broker locked because its file was unreadable: lock() then saves the operator's lock.
//
// is_locked() is one relaxed atomic load: cheap enough for every request.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "broker/common/result.hpp"

namespace remo::core {

class LockState {
 public:
  static constexpr std::string_view kFileName = "locked.json";

  struct Info {
    bool locked = false;
    std::string by;                                           // who changed it last ("" if never)
    std::string reason;                                       // why it was locked (may be empty)
    std::optional<std::chrono::system_clock::time_point> at;  // when, to the second
  };

  // Loads the flag from file (usually state_dir / kFileName). Absent file: unlocked.
  explicit LockState(std::filesystem::path file);
  LockState(const LockState&) = delete;
  LockState& operator=(const LockState&) = delete;

  bool is_locked() const noexcept { return locked_.load(std::memory_order_relaxed); }

  // Returns whether the state changed. Errors: "internal_error" when the new state could not be saved
  // (see the fail-closed rules above).
  Result<bool> lock(std::string_view by, std::string_view reason,
                    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());
  Result<bool> unlock(std::string_view by,
                      std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

  Info info() const;
  // Why the file could not be loaded at start (the broker then starts locked) or the last lock could not
  // be saved, or std::nullopt.
  std::optional<std::string> problem() const;

 private:
  Result<void> save(const Info& next);

  const std::filesystem::path file_;
  std::atomic<bool> locked_{false};
  mutable std::mutex mutex_;  // serialises changes and guards info_ and problem_
  Info info_;
  std::optional<std::string> problem_;
};

}  // namespace remo::core
