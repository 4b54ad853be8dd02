// The age v1 file format (age-encryption.org/v1) with X25519 recipients.
// Public face of the crypto layer: no I/O, no sockets, no logging.
//
// Error codes returned by this layer name the failure class:
//   "armor"               the ASCII armor is malformed
//   "header"              the header is malformed or uses something the spec forbids
//   "unsupported"         a recipient type we recognise but refuse: a (lone, as the spec demands)
//                         scrypt stanza, or a file whose only recipients are post-quantum hybrids
//                         (mlkem768x25519); next to an X25519 stanza a hybrid one is skipped as unknown
//   "no_identity_matched" no identity could unwrap the file key
//   "header_mac"          the header MAC does not verify
//   "payload"             the payload is truncated, tampered with, or malformed
//   "key"                 a malformed identity (AGE-SECRET-KEY-1...) or identity file
//   "recipient"           a malformed recipient (age1...) or recipients file
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "broker/common/result.hpp"
#include "broker/crypto/secure_buffer.hpp"

namespace remo::crypto {

inline constexpr std::size_t kX25519KeySize = 32;

// A public X25519 recipient, "age1...".
struct X25519Recipient {
  std::array<std::uint8_t, kX25519KeySize> public_key{};

  static Result<X25519Recipient> parse(std::string_view text);
  std::string encode() const;  // "age1..."
  friend bool operator==(const X25519Recipient&, const X25519Recipient&) = default;
};

// A private X25519 identity, "AGE-SECRET-KEY-1...". The scalar lives in secure memory.
class X25519Identity {
 public:
  static X25519Identity generate();
  static Result<X25519Identity> parse(std::string_view text);

  // The bech32 "AGE-SECRET-KEY-1..." form, in secure memory.
  SecureBuffer encode() const;
  const X25519Recipient& recipient() const noexcept { return recipient_; }
  std::span<const std::uint8_t> scalar() const noexcept { return secret_.span(); }

 private:
  X25519Identity(SecureBuffer secret, X25519Recipient recipient)
      : secret_(std::move(secret)), recipient_(recipient) {}
  SecureBuffer secret_;
  X25519Recipient recipient_;
};

// An identity file as age-keygen writes it: '#' comments, blank lines, one key per line.
Result<std::vector<X25519Identity>> parse_identity_file(std::string_view text);
// A recipients file as `age -R` reads it: '#' comments, blank lines, one recipient per line.
Result<std::vector<X25519Recipient>> parse_recipients_file(std::string_view text);
// The text age-keygen writes for one identity (created line, public key comment, key), secure memory.
SecureBuffer format_identity_file(const X25519Identity& identity);

// Encrypts plaintext to every recipient (at least one). armor=true yields the PEM-like ASCII armor.
Result<std::vector<std::uint8_t>> encrypt(std::span<const std::uint8_t> plaintext,
                                          std::span<const X25519Recipient> recipients, bool armor = false);

// Decrypts a binary or armored age file. All-or-nothing: the plaintext is returned only once every
// chunk has authenticated; on any failure nothing of it survives.
Result<SecureBuffer> decrypt(std::span<const std::uint8_t> ciphertext,
                             std::span<const X25519Identity> identities);

}  // namespace remo::crypto
