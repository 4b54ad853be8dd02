#include "broker/core/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace remo::core {

struct RateLimiter::Bucket {
  std::mutex mutex;
  Limits limits;
  double tokens = 0;
  std::chrono::steady_clock::time_point refilled_at;

  Bucket(Limits l, std::chrono::steady_clock::time_point now)
      : limits(l), tokens(capacity(l)), refilled_at(now) {}

  static double capacity(const Limits& l) { return std::max(1.0, l.burst); }

  // Bucket mutex held.
  void refill(std::chrono::steady_clock::time_point now) {
    if (now <= refilled_at) return;  // another thread read the clock later; never mint tokens backwards
    const double elapsed = std::chrono::duration<double>(now - refilled_at).count();
    tokens = std::min(capacity(limits), tokens + elapsed * limits.rate_per_second);
    refilled_at = now;
  }

  // Bucket mutex held.
  void change_limits(Limits next, std::chrono::steady_clock::time_point now) {
    refill(now);
    limits = next;
    tokens = std::min(tokens, capacity(next));
  }

  Decision take(std::chrono::steady_clock::time_point now) {
    const std::lock_guard hold(mutex);
    if (limits.rate_per_second <= 0) return Decision{};
    refill(now);
    if (tokens >= 1.0) {
      tokens -= 1.0;
      return Decision{};
    }
    const double wait = (1.0 - tokens) / limits.rate_per_second;
    return Decision{false, std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(wait)))};
  }
};

RateLimiter::RateLimiter(Limits defaults, Clock clock) : clock_(std::move(clock)), defaults_(defaults) {}
RateLimiter::~RateLimiter() = default;

RateLimiter::Bucket& RateLimiter::bucket_locked(std::string_view key,
                                                std::chrono::steady_clock::time_point now) {
  auto [it, inserted] = buckets_.try_emplace(std::string(key), nullptr);
  if (inserted) it->second = std::make_unique<Bucket>(defaults_, now);
  return *it->second;
}

RateLimiter::Decision RateLimiter::acquire(std::string_view key) {
  const auto now = clock_();
  {
    // The common case: the bucket exists. The shared lock keeps it alive (forget() needs the exclusive
    // lock) while its own mutex serialises the arithmetic.
    const std::shared_lock read(map_mutex_);
    if (const auto found = buckets_.find(key); found != buckets_.end()) return found->second->take(now);
  }
  // First request of this key.
  const std::unique_lock write(map_mutex_);
  return bucket_locked(key, now).take(now);
}

void RateLimiter::set_limits(std::string_view key, Limits limits) {
  const auto now = clock_();
  const std::unique_lock write(map_mutex_);
  Bucket& bucket = bucket_locked(key, now);
  const std::lock_guard hold(bucket.mutex);
  bucket.change_limits(limits, now);
  custom_.insert_or_assign(std::string(key), limits);
}

void RateLimiter::clear_limits(std::string_view key) {
  const auto now = clock_();
  const std::unique_lock write(map_mutex_);
  if (const auto found = custom_.find(key); found != custom_.end()) custom_.erase(found);
  if (const auto found = buckets_.find(key); found != buckets_.end()) {
    const std::lock_guard hold(found->second->mutex);
    found->second->change_limits(defaults_, now);
  }
}

void RateLimiter::forget(std::string_view key) {
  const std::unique_lock write(map_mutex_);
  if (const auto found = buckets_.find(key); found != buckets_.end()) buckets_.erase(found);
  if (const auto found = custom_.find(key); found != custom_.end()) custom_.erase(found);
}

RateLimiter::Limits RateLimiter::limits_for(std::string_view key) const {
  const std::shared_lock read(map_mutex_);
  const auto found = custom_.find(key);
  return found == custom_.end() ? defaults_ : found->second;
}

RateLimiter::Limits RateLimiter::defaults() const { return defaults_; }

}  // namespace remo::core
