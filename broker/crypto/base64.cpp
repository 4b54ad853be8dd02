#include "broker/crypto/base64.hpp"

#include <sodium.h>

#include <array>

#include "broker/crypto/secure_buffer.hpp"

namespace remo::crypto::base64 {
namespace {

int variant(Padding padding) {
  return padding == Padding::kNone ? sodium_base64_VARIANT_ORIGINAL_NO_PADDING
                                   : sodium_base64_VARIANT_ORIGINAL;
}

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<std::int8_t, 256> make_decode_table() {
  std::array<std::int8_t, 256> table{};
  for (auto& entry : table) entry = -1;
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
    table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
  }
  return table;
}
constexpr auto kDecodeTable = make_decode_table();

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
  // Our own decoder: libsodium's tolerates some bytes outside the alphabet. Everything decoded here
  // is public (stanzas, MACs, armored ciphertext), so it need not be constant-time.
  std::size_t pad = 0;
  if (padding == Padding::kRequired) {
    if (text.size() % 4 != 0) return false;
    while (pad < 2 && pad < text.size() && text[text.size() - 1 - pad] == '=') ++pad;
    text.remove_suffix(pad);
  }
  const std::size_t rest = text.size() % 4;
  if (rest == 1) return false;
  if (padding == Padding::kRequired && pad != (rest == 0 ? 0 : 4 - rest)) return false;

  const std::size_t old_size = out.size();
  out.reserve(old_size + text.size() / 4 * 3 + 2);
  std::uint32_t acc = 0;
  unsigned bits = 0;
  for (char c : text) {
    const std::int8_t value = kDecodeTable[static_cast<unsigned char>(c)];
    if (value < 0) {
      out.resize(old_size);
      return false;
    }
    acc = (acc << 6) | static_cast<std::uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>(acc >> bits));
      acc &= (1u << bits) - 1;
    }
  }
  // Canonical: the spare low bits of the last character are zero.
  if (acc != 0) {
    out.resize(old_size);
    return false;
  }
  return true;
}

std::optional<std::vector<std::uint8_t>> decode(std::string_view text, Padding padding) {
  std::vector<std::uint8_t> out;
  if (!decode_append(text, padding, out)) return std::nullopt;
  return out;
}

}  // namespace remo::crypto::base64
