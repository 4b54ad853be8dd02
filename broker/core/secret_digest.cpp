#include "broker/core/secret_digest.hpp"

#include <sodium.h>

#include <array>

namespace remo::core {

std::string secret_digest_hex(std::span<const std::uint8_t> key, std::string_view name,
                              std::span<const std::uint8_t> value) {
  constexpr std::size_t kDigestSize = 32;
  crypto_generichash_state state;
  crypto_generichash_init(&state, key.data(), key.size(), kDigestSize);
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(name.data()),
                            name.size());  // NOLINT
  const unsigned char separator = 0;
  crypto_generichash_update(&state, &separator, 1);
  crypto_generichash_update(&state, value.data(), value.size());
  std::array<unsigned char, kDigestSize> digest{};
  crypto_generichash_final(&state, digest.data(), digest.size());
  sodium_memzero(&state, sizeof(state));
  std::array<char, kDigestSize * 2 + 1> hex{};
  sodium_bin2hex(hex.data(), hex.size(), digest.data(), digest.size());
  return std::string(hex.data(), kDigestSize * 2);
}

}  // namespace remo::core
