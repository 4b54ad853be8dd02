#include "broker/core/rate_limiter.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

namespace remo::core {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// A clock the test moves by hand.
struct FakeClock {
  std::shared_ptr<std::atomic<std::int64_t>> ms = std::make_shared<std::atomic<std::int64_t>>(1'000'000);
  RateLimiter::Clock clock() const {
    return [ms = ms] { return steady_clock::time_point(milliseconds(ms->load())); };
  }
  void advance(milliseconds by) { ms->fetch_add(by.count()); }
};

int allowed_in_a_row(RateLimiter& limiter, std::string_view key, int at_most) {
  int allowed = 0;
  while (allowed < at_most && limiter.acquire(key).allowed) ++allowed;
  return allowed;
}

TEST(RateLimiter, AllowsTheBurstThenLimitsWithRetryAfter) {
  FakeClock clock;
  RateLimiter limiter({.rate_per_second = 2, .burst = 5}, clock.clock());
  EXPECT_EQ(allowed_in_a_row(limiter, "proj", 100), 5);
  const auto refused = limiter.acquire("proj");
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after_seconds, 1);  // half a second, rounded up to a whole one
}

TEST(RateLimiter, RetryAfterCoversTheWholeWait) {
  FakeClock clock;
  RateLimiter limiter({.rate_per_second = 0.1, .burst = 1}, clock.clock());
  EXPECT_TRUE(limiter.acquire("proj").allowed);
  EXPECT_EQ(limiter.acquire("proj").retry_after_seconds, 10);
  clock.advance(milliseconds(2500));
  EXPECT_EQ(limiter.acquire("proj").retry_after_seconds, 8);  // 7.5 s left, rounded up
  clock.advance(milliseconds(7500));
  EXPECT_TRUE(limiter.acquire("proj").allowed);
}

TEST(RateLimiter, RefillsOverTimeUpToTheBurst) {
  FakeClock clock;
  RateLimiter limiter({.rate_per_second = 4, .burst = 8}, clock.clock());
  EXPECT_EQ(allowed_in_a_row(limiter, "proj", 100), 8);
  clock.advance(milliseconds(500));  // 2 tokens
  EXPECT_EQ(allowed_in_a_row(limiter, "proj", 100), 2);
  clock.advance(milliseconds(60'000));  // far more than the burst
  EXPECT_EQ(allowed_in_a_row(limiter, "proj", 100), 8);
}

TEST(RateLimiter, KeysHaveSeparateBuckets) {
  FakeClock clock;
  RateLimiter limiter({.rate_per_second = 1, .burst = 3}, clock.clock());
  EXPECT_EQ(allowed_in_a_row(limiter, "alpha", 100), 3);
  EXPECT_FALSE(limiter.acquire("alpha").allowed);
  EXPECT_EQ(allowed_in_a_row(limiter, "beta", 100), 3);
}

TEST(RateLimiter, PerProjectLimitsTightenOneProjectOnly) {
  FakeClock clock;
  RateLimiter limiter({.rate_per_second = 100, .burst = 100}, clock.clock());
  limiter.set_limits("noisy", {.rate_per_second = 1, .burst = 2});
  EXPECT_EQ(allowed_in_a_row(limiter, "noisy", 1000), 2);
  EXPECT_EQ(allowed_in_a_row(limiter, "quiet", 1000), 100);
  EXPECT_EQ(limiter.limits_for("noisy"), (RateLimiter::Limits{1, 2}));
  EXPECT_EQ(limiter.limits_for("quiet"), limiter.defaults());

  limiter.clear_limits("noisy");
  EXPECT_EQ(limiter.limits_for("noisy"), limiter.defaults());
  clock.advance(milliseconds(1000));
  EXPECT_EQ(allowed_in_a_row(limiter, "noisy", 1000), 100);
}

TEST(RateLimiter, TighterLimitsCapTheTokensAlreadyInTheBucket) {
  FakeClock clock;
  RateLimiter limiter({.rate_per_second = 10, .burst = 50}, clock.clock());
  EXPECT_TRUE(limiter.acquire("proj").allowed);  // bucket exists with 49 tokens
  limiter.set_limits("proj", {.rate_per_second = 1, .burst = 3});
  EXPECT_EQ(allowed_in_a_row(limiter, "proj", 100), 3);
}

TEST(RateLimiter, ZeroRateMeansNoLimit) {
  FakeClock clock;
  RateLimiter limiter({.rate_per_second = 0, .burst = 0}, clock.clock());
  EXPECT_EQ(allowed_in_a_row(limiter, "proj", 10'000), 10'000);
}

TEST(RateLimiter, ForgetStartsTheKeyAfresh) {
  FakeClock clock;
  RateLimiter limiter({.rate_per_second = 1, .burst = 2}, clock.clock());
  limiter.set_limits("proj", {.rate_per_second = 1, .burst = 1});
  EXPECT_EQ(allowed_in_a_row(limiter, "proj", 100), 1);
  limiter.forget("proj");
  EXPECT_EQ(limiter.limits_for("proj"), limiter.defaults());
  EXPECT_EQ(allowed_in_a_row(limiter, "proj", 100), 2);
}

TEST(RateLimiter, ClockSteppingBackNeverMintsTokens) {
  FakeClock clock;
  RateLimiter limiter({.rate_per_second = 1, .burst = 2}, clock.clock());
  EXPECT_EQ(allowed_in_a_row(limiter, "proj", 100), 2);
  clock.advance(milliseconds(-5000));
  EXPECT_FALSE(limiter.acquire("proj").allowed);
  clock.advance(milliseconds(5000));
  EXPECT_FALSE(limiter.acquire("proj").allowed);
  clock.advance(milliseconds(1000));
  EXPECT_TRUE(limiter.acquire("proj").allowed);
}

TEST(RateLimiter, ConcurrentAcquirersNeverExceedTheBurst) {
  FakeClock clock;
  RateLimiter limiter({.rate_per_second = 1, .burst = 1000}, clock.clock());
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        if (limiter.acquire(t % 2 == 0 ? "shared" : "shared").allowed) allowed.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 1000);
}

}  // namespace
}  // namespace remo::core
