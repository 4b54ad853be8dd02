#include "broker/core/claim_token.hpp"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace remo::core::claim_token {
namespace {

static_assert(kKeySize >= crypto_generichash_KEYBYTES_MIN && kKeySize <= crypto_generichash_KEYBYTES_MAX);
static_assert(kHashSize >= crypto_generichash_BYTES_MIN && kHashSize <= crypto_generichash_BYTES_MAX);

bool is_url_safe_base64_char(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool is_lower_hex(char c) noexcept { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

}  // namespace

crypto::SecureBuffer generate_token() {
  crypto::ensure_sodium();
  constexpr std::size_t kEncodedWithNul =
      sodium_base64_ENCODED_LEN(kRandomBytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  static_assert(kEncodedWithNul == kEncodedSize - kPrefix.size() + 1);
  // One buffer for [token][NUL][random bytes]: the random bytes are drawn into the tail, encoded into
  // the head, then wiped by truncate (one secure allocation instead of two).
  crypto::SecureBuffer token(kPrefix.size() + kEncodedWithNul + kRandomBytes);
  std::uint8_t* random = token.data() + kPrefix.size() + kEncodedWithNul;
  randombytes_buf(random, kRandomBytes);
  std::memcpy(token.data(), kPrefix.data(), kPrefix.size());
  sodium_bin2base64(reinterpret_cast<char*>(token.data() + kPrefix.size()),  // NOLINT: byte buffer as chars
                    kEncodedWithNul, random, kRandomBytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  token.truncate(kEncodedSize);
  return token;
}

crypto::SecureBuffer generate_key() {
  crypto::ensure_sodium();
  crypto::SecureBuffer key(kKeySize);
  randombytes_buf(key.data(), key.size());
  return key;
}

std::string generate_id() {
  crypto::ensure_sodium();
  std::array<unsigned char, kIdBytes> random{};
  randombytes_buf(random.data(), random.size());
  std::array<char, kIdSize + 1> hex{};
  sodium_bin2hex(hex.data(), hex.size(), random.data(), random.size());
  return std::string(hex.data(), kIdSize);
}

bool looks_like_token(std::string_view text) noexcept {
  if (text.size() != kEncodedSize || !text.starts_with(kPrefix)) return false;
  return std::all_of(text.begin() + static_cast<std::ptrdiff_t>(kPrefix.size()), text.end(),
                     is_url_safe_base64_char);
}

bool looks_like_id(std::string_view text) noexcept {
  return text.size() == kIdSize && std::all_of(text.begin(), text.end(), is_lower_hex);
}

Hash keyed_hash(std::string_view token, const crypto::SecureBuffer& key) {
  if (key.size() != kKeySize) throw std::logic_error("claim_token::keyed_hash: wrong key size");
  Hash out{};
  crypto_generichash(out.data(), out.size(),
                     reinterpret_cast<const unsigned char*>(token.data()),  // NOLINT: byte view
                     token.size(), key.data(), key.size());
  return out;
}

std::string hash_to_hex(const Hash& hash) {
  std::array<char, kHashSize * 2 + 1> hex{};
  sodium_bin2hex(hex.data(), hex.size(), hash.data(), hash.size());
  return std::string(hex.data(), kHashSize * 2);
}

bool hash_from_hex(std::string_view hex, Hash& out) noexcept {
  if (hex.size() != kHashSize * 2 || !std::all_of(hex.begin(), hex.end(), is_lower_hex)) return false;
  std::size_t written = 0;
  return sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(), nullptr, &written, nullptr) == 0 &&
         written == kHashSize;
}

std::size_t HashHasher::operator()(const Hash& hash) const noexcept {
  std::size_t value = 0;
  std::memcpy(&value, hash.data(), sizeof value);
  return value;
}

}  // namespace remo::core::claim_token
