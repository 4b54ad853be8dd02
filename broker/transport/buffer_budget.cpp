#include "broker/transport/buffer_budget.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <utility>
#include <vector>

namespace remo::server {
namespace {

struct Held {
  const void* socket;
  std::size_t bytes;
};

// Evictions come in bursts (every new half-line of an attack); one warning per second says enough.
std::atomic<std::int64_t> last_warning_second{0};

void warn_evicted(std::size_t count, std::size_t limit, std::uint64_t total) {
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count();
  if (last_warning_second.exchange(now, std::memory_order_relaxed) == now) return;
  spdlog::warn(
      "unfinished request lines and unread replies hold more than the line buffer budget ({} MiB): "
      "closing {} connections holding the most ({} since start)",
      limit / (1024 * 1024), count, total);
}

}  // namespace

BufferBudget::Share::Share(BufferBudget* budget, std::unique_ptr<Holder> holder) noexcept
    : budget_(budget), holder_(std::move(holder)) {}

BufferBudget::Share::Share(Share&& other) noexcept
    : budget_(std::exchange(other.budget_, nullptr)),
      holder_(std::move(other.holder_)),
      lines_(other.lines_),
      replies_(other.replies_) {}

BufferBudget::Share& BufferBudget::Share::operator=(Share&& other) noexcept {
  if (this != &other) {
    leave();
    budget_ = std::exchange(other.budget_, nullptr);
    holder_ = std::move(other.holder_);
    lines_ = other.lines_;
    replies_ = other.replies_;
  }
  return *this;
}

BufferBudget::Share::~Share() { leave(); }

void BufferBudget::Share::leave() noexcept {
  if (budget_ == nullptr) return;
  {
    const std::lock_guard lock(budget_->mutex_);
    budget_->holders_.erase(holder_.get());
  }
  budget_->held_.fetch_sub(holder_->bytes.load(std::memory_order_relaxed), std::memory_order_relaxed);
  budget_->departed_.fetch_add(1, std::memory_order_relaxed);
  budget_ = nullptr;
  holder_.reset();
}

void BufferBudget::Share::hold(std::size_t lines, std::size_t replies) {
  if (budget_ == nullptr) return;
  lines_ = lines;
  replies_ = replies;
  const std::size_t bytes = lines + replies;
  const std::size_t before = holder_->bytes.exchange(bytes, std::memory_order_relaxed);
  if (bytes <= before) {
    budget_->held_.fetch_sub(before - bytes, std::memory_order_relaxed);
    return;
  }
  const std::size_t grown = bytes - before;
  if (budget_->held_.fetch_add(grown, std::memory_order_relaxed) + grown > budget_->limit_)
    budget_->enforce();
}

BufferBudget::Share BufferBudget::join(const void* socket, Evict evict) {
  auto holder = std::make_unique<Holder>();
  holder->socket = socket;
  holder->evict = std::move(evict);
  {
    const std::lock_guard lock(mutex_);
    holders_.insert(holder.get());
  }
  return Share(this, std::move(holder));
}

// Chooses, under the lock, connections to close until what the others hold fits: from the socket holding
// the most, its biggest holder. Connections already chosen still hold their bytes until they end, so they
// are left out of the sums (a burst of growth chooses each victim once). The closes run after the lock.
void BufferBudget::enforce() {
  std::vector<Evict> victims;
  {
    const std::lock_guard lock(mutex_);
    std::vector<std::pair<Holder*, std::size_t>> holders;  // a snapshot: each connection moves its own count
    std::vector<Held> sockets;
    std::size_t projected = 0;
    for (Holder* holder : holders_) {
      const std::size_t bytes = holder->bytes.load(std::memory_order_relaxed);
      if (holder->evicting || bytes == 0) continue;
      holders.emplace_back(holder, bytes);
      projected += bytes;
      auto socket = std::find_if(sockets.begin(), sockets.end(),
                                 [&](const Held& held) { return held.socket == holder->socket; });
      if (socket == sockets.end()) {
        sockets.push_back({holder->socket, bytes});
      } else {
        socket->bytes += bytes;
      }
    }
    while (projected > limit_ && !sockets.empty()) {
      auto heaviest = std::max_element(sockets.begin(), sockets.end(),
                                       [](const Held& a, const Held& b) { return a.bytes < b.bytes; });
      std::pair<Holder*, std::size_t>* victim = nullptr;
      for (auto& entry : holders) {
        if (!entry.first->evicting && entry.first->socket == heaviest->socket &&
            (victim == nullptr || entry.second > victim->second)) {
          victim = &entry;
        }
      }
      if (victim == nullptr) break;
      victim->first->evicting = true;
      victims.push_back(victim->first->evict);
      projected -= victim->second;
      heaviest->bytes -= victim->second;
      if (heaviest->bytes == 0) sockets.erase(heaviest);
    }
  }
  if (victims.empty()) return;
  const std::uint64_t total = evicted_.fetch_add(victims.size(), std::memory_order_relaxed) + victims.size();
  warn_evicted(victims.size(), limit_, total);
  for (const Evict& evict : victims) evict();
}

}  // namespace remo::server
