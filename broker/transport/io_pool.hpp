// IoPool: the data plane's threads. One io_context per thread, each run by exactly that thread, and every
// connection dealt to one of them round robin. All of a connection's work then happens on one thread:
// its io_context is its strand (Asio's implicit strand), and threads never hand a request to each other
// or wake each other up to run it.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

namespace remo::server {

class IoPool {
 public:
  explicit IoPool(unsigned threads);
  ~IoPool();
  IoPool(const IoPool&) = delete;
  IoPool& operator=(const IoPool&) = delete;

  // The context for the next connection (thread-safe).
  asio::io_context& next() noexcept;
  // The context listeners and signals live on.
  asio::io_context& first() noexcept { return *contexts_.front(); }

  void start();  // one thread per context
  // Registers and closes a thousand sockets over the contexts, so that the descriptor states of the first
  // thousand connections lie together in the heap (see io_pool.cpp). Takes a few milliseconds; any thread.
  void warm_descriptor_pools();
  void stop();  // stops every context and joins the threads; pending handlers are not run

 private:
  // An io_context whose services can be shut down before any context is destroyed (see ~IoPool).
  class Context : public asio::io_context {
   public:
    using asio::io_context::io_context;
    void shut_down() { shutdown(); }
  };
  using WorkGuard = asio::executor_work_guard<asio::io_context::executor_type>;
  std::vector<std::unique_ptr<Context>> contexts_;
  std::vector<WorkGuard> work_;
  std::vector<std::thread> threads_;
  std::atomic<std::size_t> next_{0};
};

}  // namespace remo::server
