#include "broker/server/io_pool.hpp"

#include <algorithm>

namespace remo::server {

IoPool::IoPool(unsigned threads) {
  const unsigned count = std::max(1U, threads);
  contexts_.reserve(count);
  work_.reserve(count);
  for (unsigned i = 0; i < count; ++i) {
    // Concurrency hint 1: one thread runs each context (other threads still post to it safely).
    contexts_.push_back(std::make_unique<Context>(1));
    work_.push_back(asio::make_work_guard(*contexts_.back()));
  }
}

IoPool::~IoPool() {
  stop();
  // Shutting a context down destroys the handlers and coroutines still pending on it, and with them
  // objects (listeners, connections, timers) that belong to other contexts. So every context is shut
  // down while all of them still exist, and only then are they destroyed.
  for (auto& context : contexts_) context->shut_down();
  contexts_.clear();
}

asio::io_context& IoPool::next() noexcept {
  return *contexts_[next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size()];
}

void IoPool::start() {
  threads_.reserve(contexts_.size());
  for (auto& context : contexts_) threads_.emplace_back([&io = *context] { io.run(); });
}

void IoPool::stop() {
  work_.clear();
  for (auto& context : contexts_) context->stop();
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
}

}  // namespace remo::server
