#include "broker/core/secret_store.hpp"

#include <utility>

namespace remo::core {

SecretStore::SecretStore() { clear(); }

std::shared_ptr<const SecretStore::Snapshot> SecretStore::snapshot() const {
  const std::lock_guard lock(mutex_);
  return current_;
}

void SecretStore::replace(SecretSet secrets, std::chrono::system_clock::time_point loaded_at) {
  install(std::make_shared<const Snapshot>(
      Snapshot{std::make_shared<const SecretSet>(std::move(secrets)), loaded_at}));
}

void SecretStore::clear() {
  install(std::make_shared<const Snapshot>(Snapshot{std::make_shared<const SecretSet>(), std::nullopt}));
}

void SecretStore::install(std::shared_ptr<const Snapshot> next) {
  {
    const std::lock_guard lock(mutex_);
    current_.swap(next);
  }
  // `next` now holds the previous snapshot. It is freed (and its secure buffers wiped) here, outside the
  // lock, or later when its last reader lets go.
}

}  // namespace remo::core
