// SecretStore: the live secret set, swapped atomically. Readers take a snapshot (shared_ptr) and never
// wait for a writer; a get sees the old set or the new one, never a mix.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>

#include "broker/core/secret_set.hpp"

namespace remo::core {

class SecretStore {
 public:
  struct Snapshot {
    std::shared_ptr<const SecretSet> secrets;                        // never null
    std::optional<std::chrono::system_clock::time_point> loaded_at;  // nullopt: nothing loaded
  };

  SecretStore();
  std::shared_ptr<const Snapshot> snapshot() const { return current_.load(std::memory_order_acquire); }
  void replace(SecretSet secrets, std::chrono::system_clock::time_point loaded_at);
  void clear();

 private:
  std::atomic<std::shared_ptr<const Snapshot>> current_;
};

}  // namespace remo::core
