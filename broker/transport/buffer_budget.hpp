// BufferBudget: one limit on the memory that connections make the broker hold for them, shared by every
// connection on every socket: unfinished request lines, and replies waiting for a client that does not read
// them. A connection's line buffer counts once it has grown past its first allocation (a request that does
// not fit in it); the first allocation of every connection is bounded by max_connections instead.
// Past the limit, the broker closes connections: those of the socket whose connections hold the most, the
// biggest holder first, until what is left fits. So one project's many half-lines cannot push out another
// project's client, and the biggest consumer pays first.
//
// Thread safety: every member may be called from any thread. A Share is used by its connection only.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_set>

namespace remo::server {

class BufferBudget {
  struct Holder;

 public:
  // Closes one connection over the budget (called with no lock held, from the thread that went over).
  using Evict = std::function<void()>;

  // One connection's part of the budget: what its line buffer and its waiting replies hold now. Leaving
  // (destruction) gives it back. A default-constructed Share belongs to no budget and counts nothing.
  class Share {
   public:
    Share() = default;
    Share(Share&& other) noexcept;
    Share& operator=(Share&& other) noexcept;
    Share(const Share&) = delete;
    Share& operator=(const Share&) = delete;
    ~Share();

    // This connection's line buffer, or its replies waiting to be written, now hold `bytes`. Growing past
    // the budget closes the biggest holders.
    void hold_lines(std::size_t bytes) { hold(bytes, replies_); }
    void hold_replies(std::size_t bytes) { hold(lines_, bytes); }

   private:
    friend class BufferBudget;
    Share(BufferBudget* budget, std::unique_ptr<Holder> holder) noexcept;
    void leave() noexcept;
    void hold(std::size_t lines, std::size_t replies);

    BufferBudget* budget_ = nullptr;
    std::unique_ptr<Holder> holder_;
    std::size_t lines_ = 0;
    std::size_t replies_ = 0;
  };

  explicit BufferBudget(std::size_t limit_bytes) : limit_(limit_bytes) {}
  BufferBudget(const BufferBudget&) = delete;
  BufferBudget& operator=(const BufferBudget&) = delete;

  // A share for a new connection on `socket` (any pointer that is the same for every connection of one
  // socket). evict closes that connection.
  Share join(const void* socket, Evict evict);

  std::size_t limit() const noexcept { return limit_; }
  std::size_t held() const noexcept { return held_.load(std::memory_order_relaxed); }
  // Connections closed because the budget was exceeded, since start.
  std::uint64_t evicted() const noexcept { return evicted_.load(std::memory_order_relaxed); }
  // Shares that have left (connections that ended), since start: a measure of churn.
  std::uint64_t departed() const noexcept { return departed_.load(std::memory_order_relaxed); }

 private:
  struct Holder {
    std::atomic<std::size_t> bytes{0};
    const void* socket = nullptr;
    Evict evict;
    bool evicting = false;  // under mutex_: already chosen, its bytes go once its connection ends
  };

  void enforce();

  const std::size_t limit_;
  std::atomic<std::size_t> held_{0};
  std::atomic<std::uint64_t> evicted_{0};
  std::atomic<std::uint64_t> departed_{0};
  std::mutex mutex_;
  std::unordered_set<Holder*> holders_;  // under mutex_
};

}  // namespace remo::server
