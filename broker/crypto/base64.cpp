#include "broker/crypto/base64.hpp"

#include <sodium.h>

#include "broker/crypto/secure_buffer.hpp"

namespace remo::crypto::base64 {
namespace {

int variant(Padding padding) {
  return padding == Padding::kNone ? sodium_base64_VARIANT_ORIGINAL_NO_PADDING
                                   : sodium_base64_VARIANT_ORIGINAL;
}

}  // namespace

std::size_t encoded_size(std::size_t n, Padding padding) noexcept {
  if (padding == Padding::kRequired) return (n + 2) / 3 * 4;
  return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

std::string encode(std::span<const std::uint8_t> bytes, Padding padding) {
  ensure_sodium();
  const int v = variant(padding);
  // sodium_base64_ENCODED_LEN counts the terminating NUL.
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), v), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(), v);
  out.resize(encoded_size(bytes.size(), padding));
  return out;
}

bool decode_append(std::string_view text, Padding padding, std::vector<std::uint8_t>& out) {
  ensure_sodium();
  // Reject impossible lengths up front; libsodium checks alphabet, padding and trailing bits.
  if (padding == Padding::kRequired ? text.size() % 4 != 0 : text.size() % 4 == 1) return false;
  const std::size_t old_size = out.size();
  const std::size_t max_len = text.size() / 4 * 3 + 3;
  out.resize(old_size + max_len);
  std::size_t written = 0;
  const char* end = nullptr;
  const int rc = sodium_base642bin(out.data() + old_size, max_len, text.data(), text.size(), nullptr,
                                   &written, &end, variant(padding));
  if (rc != 0 || end != text.data() + text.size()) {
    out.resize(old_size);
    return false;
  }
  out.resize(old_size + written);
  return true;
}

std::optional<std::vector<std::uint8_t>> decode(std::string_view text, Padding padding) {
  std::vector<std::uint8_t> out;
  if (!decode_append(text, padding, out)) return std::nullopt;
  return out;
}

}  // namespace remo::crypto::base64
