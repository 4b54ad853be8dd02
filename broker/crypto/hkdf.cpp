#include "broker/crypto/hkdf.hpp"

#include <sodium.h>

#include <algorithm>
#include <cstdlib>

#include "broker/crypto/secure_buffer.hpp"

namespace remo::crypto {
namespace {

// libsodium wants a non-null pointer even for an empty key or message.
const unsigned char* nonnull(std::span<const std::uint8_t> bytes) {
  static const unsigned char kEmpty = 0;
  return bytes.empty() ? &kEmpty : bytes.data();
}

class Hmac {
 public:
  explicit Hmac(std::span<const std::uint8_t> key) {
    ensure_sodium();
    crypto_auth_hmacsha256_init(&state_, nonnull(key), key.size());
  }
  ~Hmac() { sodium_memzero(&state_, sizeof state_); }
  Hmac(const Hmac&) = delete;
  Hmac& operator=(const Hmac&) = delete;

  void update(std::span<const std::uint8_t> bytes) {
    crypto_auth_hmacsha256_update(&state_, nonnull(bytes), bytes.size());
  }
  void finish(std::uint8_t* out) { crypto_auth_hmacsha256_final(&state_, out); }

 private:
  crypto_auth_hmacsha256_state state_{};
};

}  // namespace

std::array<std::uint8_t, kSha256Size> hmac_sha256(std::span<const std::uint8_t> key,
                                                  std::span<const std::uint8_t> message) {
  std::array<std::uint8_t, kSha256Size> out{};
  Hmac mac(key);
  mac.update(message);
  mac.finish(out.data());
  return out;
}

void hkdf_sha256(std::span<const std::uint8_t> salt, std::span<const std::uint8_t> ikm,
                 std::span<const std::uint8_t> info, std::span<std::uint8_t> out) {
  if (out.size() > 255 * kSha256Size) std::abort();  // a programming error, not an input error
  // Extract. HMAC pads a short key with zeros, so an empty salt already equals HashLen zero bytes.
  SecureBuffer prk(kSha256Size);
  {
    Hmac extract(salt);
    extract.update(ikm);
    extract.finish(prk.data());
  }
  // Expand: T(i) = HMAC(PRK, T(i-1) || info || i).
  SecureBuffer block(kSha256Size);
  std::size_t done = 0;
  for (std::uint8_t counter = 1; done < out.size(); ++counter) {
    Hmac expand(prk.span());
    if (counter > 1) expand.update(block.span());
    expand.update(info);
    expand.update(std::span<const std::uint8_t>(&counter, 1));
    expand.finish(block.data());
    const std::size_t n = std::min(kSha256Size, out.size() - done);
    std::copy_n(block.data(), n, out.data() + done);
    done += n;
  }
}

}  // namespace remo::crypto
