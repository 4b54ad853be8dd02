#include "broker/transport/io_pool.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <asio/local/stream_protocol.hpp>

#include <algorithm>
#include <vector>

namespace remo::server {
namespace {

// Asio keeps the state of every descriptor a context has registered (about 160 bytes) in a pool that
// never shrinks, and takes it from the heap when a connection arrives, in between that connection's own
// allocations. After a burst of connections, each state left in the pool would pin a heap page that
// malloc_trim cannot hand back. Registering this many sockets up front, back to back, puts that many
// states side by side at start; connections take them before any new one is allocated.
constexpr std::size_t kWarmDescriptors = 1024;

void warm_descriptor_pool(asio::io_context& io, std::size_t count) {
  std::vector<asio::local::stream_protocol::socket> sockets;
  sockets.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) break;  // out of descriptors: warm fewer
    asio::error_code error;
    sockets.emplace_back(io).assign(asio::local::stream_protocol(), fd, error);
    if (error) {
      sockets.pop_back();
      ::close(fd);
      break;
    }
  }
  // Closing them hands every state back to the pool.
}

}  // namespace

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

void IoPool::warm_descriptor_pools() {
  const std::size_t per_context = (kWarmDescriptors + contexts_.size() - 1) / contexts_.size();
  for (auto& context : contexts_) warm_descriptor_pool(*context, per_context);
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
