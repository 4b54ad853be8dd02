// RateLimiter: a token bucket per key (the project name), for the data plane.
//
// Each bucket holds up to `burst` tokens and refills at `rate_per_second`; a request takes one token or
// is refused with the whole seconds until one is available (at least 1), for the reply's
// retry_after_seconds. Buckets start full.
//
// Hot path: a shared (reader) lock on the bucket map to find the bucket, then that bucket's own mutex
// for a few arithmetic operations. The map is locked exclusively only to add a bucket (first request of
// a key) or to change limits. Nothing slow happens under any lock.
//
// Thread-safe. The clock is injectable so tests can move time without sleeping.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>

namespace remo::core {

class RateLimiter {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  struct Limits {
    double rate_per_second = 10;  // <= 0: no limit at all for this key
    double burst = 20;            // bucket size; values below 1 are treated as 1
    friend bool operator==(const Limits&, const Limits&) = default;
  };

  struct Decision {
    bool allowed = true;
    std::int64_t retry_after_seconds = 0;  // >= 1 when refused, 0 when allowed
  };

  explicit RateLimiter(
      Limits defaults, Clock clock = [] { return std::chrono::steady_clock::now(); });
  ~RateLimiter();
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // Takes one token from key's bucket, creating it (full) on first use.
  Decision acquire(std::string_view key);

  // Per-key limits (for example tighter ones for one project). The bucket keeps its tokens, capped at
  // the new burst. clear_limits returns the key to the defaults. Keys are project names, so the number of
  // buckets is bounded by the number of registered projects.
  void set_limits(std::string_view key, Limits limits);
  void clear_limits(std::string_view key);
  // Forgets a key (bucket and limits), for example when its project is unregistered.
  void forget(std::string_view key);

  Limits limits_for(std::string_view key) const;
  Limits defaults() const;

 private:
  struct Bucket;
  // The bucket of key, created full if absent. map_mutex_ held exclusively.
  Bucket& bucket_locked(std::string_view key, std::chrono::steady_clock::time_point now);

  const Clock clock_;
  const Limits defaults_;
  mutable std::shared_mutex map_mutex_;
  std::map<std::string, std::unique_ptr<Bucket>, std::less<>> buckets_;  // one per key seen
  std::map<std::string, Limits, std::less<>> custom_;                    // keys with set_limits
};

}  // namespace remo::core
