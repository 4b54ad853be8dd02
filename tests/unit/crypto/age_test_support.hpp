// Helpers for the crypto tests: byte/text conversions and an age file assembled from its parts, so a
// test can break exactly one part (a stanza, the MAC, a chunk) and keep every other part valid.
#pragma once

#include <sodium.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "broker/crypto/age.hpp"
#include "broker/crypto/format.hpp"
#include "broker/crypto/hkdf.hpp"
#include "broker/crypto/stream.hpp"
#include "broker/crypto/x25519.hpp"

namespace remo::crypto::testing {

using Bytes = std::vector<std::uint8_t>;

// A parameterized test's name from a test vector's file name: gtest accepts only [A-Za-z0-9_].
inline std::string test_name(std::string_view file_name) {
  std::string name(file_name);
  for (char& c : name) {
    const bool allowed =
        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!allowed) c = '_';
  }
  return name;
}

// A parameterized test's name from a size: "bytes_65536".
inline std::string size_name(std::size_t size) { return "bytes_" + std::to_string(size); }

inline Bytes to_bytes(std::string_view text) { return Bytes(text.begin(), text.end()); }
inline std::string to_string(std::span<const std::uint8_t> bytes) {
  return std::string(bytes.begin(), bytes.end());
}

inline Bytes pattern(std::size_t n, std::uint8_t seed = 0) {
  Bytes out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::uint8_t>(i * 31 + seed);
  return out;
}

inline Bytes from_hex(std::string_view hex) {
  Bytes out(hex.size() / 2);
  std::size_t n = 0;
  sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(), nullptr, &n, nullptr);
  out.resize(n);
  return out;
}

inline std::string sha256_hex(std::span<const std::uint8_t> bytes) {
  std::uint8_t digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, bytes.data(), bytes.size());
  char hex[2 * crypto_hash_sha256_BYTES + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

// An age file from its parts. build() recomputes the MAC unless a mac was forced.
struct FileParts {
  SecureBuffer file_key = SecureBuffer::copy_of(std::string_view("YELLOW SUBMARINE"));
  std::vector<format::Stanza> stanzas;
  std::optional<std::array<std::uint8_t, format::kMacSize>> forced_mac;
  Bytes nonce = Bytes(16, 0x42);
  Bytes payload;  // sealed chunks; see seal_payload()

  void add_recipient(const X25519Recipient& recipient) {
    stanzas.push_back(x25519::wrap(file_key, recipient).value());
  }

  std::array<std::uint8_t, 32> payload_key() const {
    std::array<std::uint8_t, 32> key{};
    hkdf_sha256(nonce, file_key.span(), as_bytes("payload"), key);
    return key;
  }

  void seal_payload(std::span<const std::uint8_t> plaintext) {
    payload.assign(stream::ciphertext_size(plaintext.size()), 0);
    stream::seal(payload_key(), plaintext, payload);
  }

  std::string header() const {
    format::Header h;
    h.stanzas = stanzas;
    if (forced_mac) {
      h.mac = *forced_mac;
    } else {
      std::array<std::uint8_t, 32> mac_key{};
      hkdf_sha256({}, file_key.span(), as_bytes("header"), mac_key);
      h.mac = hmac_sha256(mac_key, as_bytes(format::serialize_mac_input(stanzas)));
    }
    return format::serialize_header(h);
  }

  Bytes build() const {
    Bytes out = to_bytes(header());
    out.insert(out.end(), nonce.begin(), nonce.end());
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
  }
};

// A chunk sealed by hand, for reordering and flag tests.
inline Bytes seal_chunk(std::span<const std::uint8_t, 32> key, std::span<const std::uint8_t> plaintext,
                        std::uint64_t counter, bool last) {
  std::array<std::uint8_t, 12> nonce{};
  for (int i = 0; i < 8; ++i)
    nonce[static_cast<std::size_t>(10 - i)] = static_cast<std::uint8_t>(counter >> (8 * i));
  nonce[11] = last ? 1 : 0;
  Bytes out(plaintext.size() + 16);
  crypto_aead_chacha20poly1305_ietf_encrypt(out.data(), nullptr, plaintext.data(), plaintext.size(), nullptr,
                                            0, nullptr, nonce.data(), key.data());
  return out;
}

}  // namespace remo::crypto::testing
