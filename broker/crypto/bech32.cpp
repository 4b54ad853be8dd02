#include "broker/crypto/bech32.hpp"

#include <array>
#include <cstring>

namespace remo::crypto::bech32 {
namespace {

constexpr std::string_view kCharset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
constexpr std::size_t kChecksumLength = 6;

// Reverse lookup of kCharset; -1 marks characters outside it.
constexpr std::array<std::int8_t, 128> make_reverse_charset() {
  std::array<std::int8_t, 128> table{};
  for (auto& entry : table) entry = -1;
  for (std::size_t i = 0; i < kCharset.size(); ++i) {
    table[static_cast<unsigned char>(kCharset[i])] = static_cast<std::int8_t>(i);
  }
  return table;
}
constexpr auto kReverseCharset = make_reverse_charset();

std::uint32_t polymod_step(std::uint32_t chk, std::uint8_t value) {
  constexpr std::array<std::uint32_t, 5> kGenerator = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd,
                                                       0x2a1462b3};
  const std::uint32_t top = chk >> 25;
  chk = ((chk & 0x1ffffff) << 5) ^ value;
  for (std::size_t i = 0; i < kGenerator.size(); ++i) {
    if (((top >> i) & 1) != 0) chk ^= kGenerator[i];
  }
  return chk;
}

// The checksum state after the expanded human-readable part (high bits, a zero, low bits).
std::uint32_t polymod_hrp(std::string_view hrp) {
  std::uint32_t chk = 1;
  for (char c : hrp) chk = polymod_step(chk, static_cast<std::uint8_t>(static_cast<unsigned char>(c) >> 5));
  chk = polymod_step(chk, 0);
  for (char c : hrp) chk = polymod_step(chk, static_cast<std::uint8_t>(static_cast<unsigned char>(c) & 31));
  return chk;
}

char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
char to_upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

Error bech32_error(std::string message) { return make_error("bech32", std::move(message)); }

}  // namespace

Result<SecureBuffer> encode(std::string_view hrp, std::span<const std::uint8_t> data, bool upper_case) {
  if (hrp.empty()) return bech32_error("empty human-readable part");
  std::string lower_hrp;
  for (char c : hrp) {
    if (c < 33 || c > 126) return bech32_error("invalid character in human-readable part");
    lower_hrp.push_back(to_lower(c));
  }
  // 8-bit bytes regrouped as 5-bit values, zero-padded at the end.
  SecureBuffer values((data.size() * 8 + 4) / 5);
  std::size_t n = 0;
  std::uint32_t acc = 0;
  unsigned bits = 0;
  for (std::uint8_t byte : data) {
    acc = ((acc << 8) | byte) & 0xfff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      values.data()[n++] = static_cast<std::uint8_t>((acc >> bits) & 31);
    }
  }
  if (bits > 0) values.data()[n++] = static_cast<std::uint8_t>((acc << (5 - bits)) & 31);

  std::uint32_t chk = polymod_hrp(lower_hrp);
  for (std::size_t i = 0; i < n; ++i) chk = polymod_step(chk, values.data()[i]);
  for (std::size_t i = 0; i < kChecksumLength; ++i) chk = polymod_step(chk, 0);
  chk ^= 1;

  SecureBuffer out(lower_hrp.size() + 1 + n + kChecksumLength);
  char* p = reinterpret_cast<char*>(out.data());  // NOLINT: text in a byte buffer
  auto put = [&](char c) { *p++ = upper_case ? to_upper(c) : c; };
  for (char c : lower_hrp) put(c);
  put('1');
  for (std::size_t i = 0; i < n; ++i) put(kCharset[values.data()[i]]);
  for (std::size_t i = 0; i < kChecksumLength; ++i) put(kCharset[(chk >> (5 * (5 - i))) & 31]);
  return out;
}

Result<Decoded> decode(std::string_view text) {
  bool has_lower = false;
  bool has_upper = false;
  for (char c : text) {
    if (c < 33 || c > 126) return bech32_error("invalid character");
    if (c >= 'a' && c <= 'z') has_lower = true;
    if (c >= 'A' && c <= 'Z') has_upper = true;
  }
  if (has_lower && has_upper) return bech32_error("mixed case");
  const std::size_t separator = text.rfind('1');
  if (separator == std::string_view::npos || separator == 0) {
    return bech32_error("missing separator or empty human-readable part");
  }
  if (text.size() - separator - 1 < kChecksumLength) return bech32_error("too short");

  std::string hrp;
  for (char c : text.substr(0, separator)) hrp.push_back(to_lower(c));
  const std::string_view data_part = text.substr(separator + 1);

  SecureBuffer values(data_part.size());
  std::uint32_t chk = polymod_hrp(hrp);
  for (std::size_t i = 0; i < data_part.size(); ++i) {
    const auto c = static_cast<unsigned char>(to_lower(data_part[i]));
    const std::int8_t v = c < 128 ? kReverseCharset[c] : -1;
    if (v < 0) return bech32_error("invalid data character");
    values.data()[i] = static_cast<std::uint8_t>(v);
    chk = polymod_step(chk, static_cast<std::uint8_t>(v));
  }
  if (chk != 1) return bech32_error("invalid checksum");

  // 5-bit values back to bytes; the leftover must be fewer than 5 bits, all zero.
  const std::size_t n_values = data_part.size() - kChecksumLength;
  SecureBuffer bytes(n_values * 5 / 8);
  std::size_t n = 0;
  std::uint32_t acc = 0;
  unsigned bits = 0;
  for (std::size_t i = 0; i < n_values; ++i) {
    acc = ((acc << 5) | values.data()[i]) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.data()[n++] = static_cast<std::uint8_t>((acc >> bits) & 0xff);
    }
  }
  if (bits >= 5 || ((acc << (8 - bits)) & 0xff) != 0) return bech32_error("invalid padding bits");
  bytes.truncate(n);
  return Decoded{std::move(hrp), std::move(bytes)};
}

}  // namespace remo::crypto::bech32
