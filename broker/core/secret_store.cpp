#include "broker/core/secret_store.hpp"

namespace remo::core {

SecretStore::SecretStore() { clear(); }

void SecretStore::replace(SecretSet secrets, std::chrono::system_clock::time_point loaded_at) {
  auto next = std::make_shared<const Snapshot>(
      Snapshot{std::make_shared<const SecretSet>(std::move(secrets)), loaded_at});
  // The previous snapshot is freed (and its secure buffers wiped) when its last reader lets go.
  current_.store(std::move(next), std::memory_order_release);
}

void SecretStore::clear() {
  current_.store(
      std::make_shared<const Snapshot>(Snapshot{std::make_shared<const SecretSet>(), std::nullopt}),
      std::memory_order_release);
}

}  // namespace remo::core
