// SecretStore: the live secret set, swapped atomically. Readers take a snapshot (shared_ptr) and keep it
// for as long as they need; a get sees the old set or the new one, never a mix. Neither side ever waits
// for more than a pointer copy, and no set is built or freed while the lock is held.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
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
  std::shared_ptr<const Snapshot> snapshot() const;
  void replace(SecretSet secrets, std::chrono::system_clock::time_point loaded_at);
  void clear();

 private:
  void install(std::shared_ptr<const Snapshot> next);

  // A mutex rather than std::atomic<std::shared_ptr>: libstdc++ 12's implementation releases its internal
  // lock with relaxed ordering after load(), a data race ThreadSanitizer reports (and the memory model
  // agrees with). The critical sections are a refcount increment and a pointer swap.
  mutable std::mutex mutex_;
  std::shared_ptr<const Snapshot> current_;
};

}  // namespace remo::core
