#include "broker/crypto/x25519.hpp"

#include <sodium.h>

#include <array>
#include <cstring>

#include "broker/crypto/base64.hpp"
#include "broker/crypto/bech32.hpp"
#include "broker/crypto/hkdf.hpp"

namespace remo::crypto {
namespace {

constexpr std::string_view kRecipientHrp = "age";
constexpr std::string_view kIdentityHrp = "age-secret-key-";
constexpr std::array<std::uint8_t, crypto_aead_chacha20poly1305_ietf_NPUBBYTES> kZeroNonce{};

using PublicKey = std::array<std::uint8_t, kX25519KeySize>;

// X25519(scalar, point) into secure memory; false when the result is all zeros (low-order point).
bool shared_secret(std::span<const std::uint8_t> scalar, const PublicKey& point, SecureBuffer& out) {
  out = SecureBuffer(crypto_scalarmult_BYTES);
  return crypto_scalarmult(out.data(), scalar.data(), point.data()) == 0;
}

SecureBuffer wrap_key(const PublicKey& share, const PublicKey& recipient, const SecureBuffer& secret) {
  std::array<std::uint8_t, 2 * kX25519KeySize> salt{};
  std::memcpy(salt.data(), share.data(), share.size());
  std::memcpy(salt.data() + share.size(), recipient.data(), recipient.size());
  SecureBuffer key(crypto_aead_chacha20poly1305_ietf_KEYBYTES);
  hkdf_sha256(salt, secret.span(), as_bytes(x25519::kLabel), key.span());
  return key;
}

}  // namespace

// ---- recipients and identities (declared in age.hpp) ----

Result<X25519Recipient> X25519Recipient::parse(std::string_view text) {
  auto decoded = bech32::decode(text);
  if (!decoded) return make_error("recipient", "malformed recipient: " + decoded.error().message);
  if (decoded->hrp != kRecipientHrp) return make_error("recipient", "not an age1 recipient");
  if (decoded->data.size() != kX25519KeySize) return make_error("recipient", "recipient has wrong length");
  X25519Recipient recipient;
  std::memcpy(recipient.public_key.data(), decoded->data.data(), kX25519KeySize);
  return recipient;
}

std::string X25519Recipient::encode() const {
  auto text = bech32::encode(kRecipientHrp, public_key, false);
  return std::string(text->view());  // cannot fail: the human-readable part is a constant
}

X25519Identity X25519Identity::generate() {
  ensure_sodium();
  SecureBuffer secret(crypto_scalarmult_SCALARBYTES);
  randombytes_buf(secret.data(), secret.size());
  X25519Recipient recipient;
  crypto_scalarmult_base(recipient.public_key.data(), secret.data());
  return X25519Identity(std::move(secret), recipient);
}

Result<X25519Identity> X25519Identity::parse(std::string_view text) {
  ensure_sodium();
  // The messages never quote the text: it is a secret key.
  auto decoded = bech32::decode(text);
  if (!decoded) return make_error("key", "malformed identity: " + decoded.error().message);
  if (decoded->hrp != kIdentityHrp) return make_error("key", "not an AGE-SECRET-KEY-1 identity");
  if (decoded->data.size() != kX25519KeySize) return make_error("key", "identity has wrong length");
  X25519Recipient recipient;
  if (crypto_scalarmult_base(recipient.public_key.data(), decoded->data.data()) != 0) {
    return make_error("key", "identity is not a usable X25519 scalar");
  }
  return X25519Identity(std::move(decoded->data), recipient);
}

SecureBuffer X25519Identity::encode() const {
  return std::move(bech32::encode(kIdentityHrp, secret_.span(), true).value());
}

// ---- stanzas ----

namespace x25519 {

Result<format::Stanza> wrap(const SecureBuffer& file_key, const X25519Recipient& recipient) {
  ensure_sodium();
  SecureBuffer ephemeral(crypto_scalarmult_SCALARBYTES);
  randombytes_buf(ephemeral.data(), ephemeral.size());
  PublicKey share{};
  crypto_scalarmult_base(share.data(), ephemeral.data());
  SecureBuffer secret;
  if (!shared_secret(ephemeral.span(), recipient.public_key, secret)) {
    return make_error("recipient", "recipient is a low-order point");
  }
  const SecureBuffer key = wrap_key(share, recipient.public_key, secret);

  format::Stanza stanza;
  stanza.type = std::string(kStanzaType);
  stanza.args.push_back(base64::encode(share, base64::Padding::kNone));
  stanza.body.resize(kWrappedFileKeySize);
  crypto_aead_chacha20poly1305_ietf_encrypt(stanza.body.data(), nullptr, file_key.data(), file_key.size(),
                                            nullptr, 0, nullptr, kZeroNonce.data(), key.data());
  return stanza;
}

Result<void> check_stanza(const format::Stanza& stanza) {
  if (stanza.args.size() != 1) return make_error("header", "X25519 stanza must have exactly one argument");
  const auto share = base64::decode(stanza.args[0], base64::Padding::kNone);
  if (!share || share->size() != kX25519KeySize) {
    return make_error("header", "X25519 stanza share is not 32 bytes of canonical base64");
  }
  if (stanza.body.size() != kWrappedFileKeySize) {
    return make_error("header", "X25519 stanza body is not 32 bytes");
  }
  return {};
}

Result<std::optional<SecureBuffer>> unwrap(const format::Stanza& stanza, const X25519Identity& identity) {
  ensure_sodium();
  PublicKey share{};
  const auto decoded = base64::decode(stanza.args.at(0), base64::Padding::kNone);
  std::memcpy(share.data(), decoded->data(), share.size());
  SecureBuffer secret;
  if (!shared_secret(identity.scalar(), share, secret)) {
    return make_error("header", "X25519 share is a low-order point");
  }
  const SecureBuffer key = wrap_key(share, identity.recipient().public_key, secret);
  SecureBuffer file_key(kFileKeySize);
  if (crypto_aead_chacha20poly1305_ietf_decrypt(file_key.data(), nullptr, nullptr, stanza.body.data(),
                                                stanza.body.size(), nullptr, 0, kZeroNonce.data(),
                                                key.data()) != 0) {
    return std::optional<SecureBuffer>();
  }
  return std::optional<SecureBuffer>(std::move(file_key));
}

}  // namespace x25519
}  // namespace remo::crypto
