// encrypt() and decrypt(): the header, the recipient stanzas and the STREAM payload put together.
#include "broker/crypto/age.hpp"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "broker/crypto/armor.hpp"
#include "broker/crypto/format.hpp"
#include "broker/crypto/hkdf.hpp"
#include "broker/crypto/stream.hpp"
#include "broker/crypto/x25519.hpp"

namespace remo::crypto {
namespace {

constexpr std::size_t kPayloadNonceSize = 16;
constexpr std::string_view kHeaderMacLabel = "header";
constexpr std::string_view kPayloadLabel = "payload";

// Recipient types we know and deliberately refuse: scrypt (passphrases have no place in a broker)
// and the post-quantum hybrid, which libsodium cannot compute.
constexpr std::string_view kScryptType = "scrypt";
constexpr std::string_view kHybridType = "mlkem768x25519";

std::array<std::uint8_t, format::kMacSize> header_mac(const SecureBuffer& file_key,
                                                      std::span<const std::uint8_t> mac_input) {
  SecureBuffer mac_key(kSha256Size);
  hkdf_sha256({}, file_key.span(), as_bytes(kHeaderMacLabel), mac_key.span());
  return hmac_sha256(mac_key.span(), mac_input);
}

SecureBuffer payload_key(const SecureBuffer& file_key, std::span<const std::uint8_t> nonce) {
  SecureBuffer key(stream::kKeySize);
  hkdf_sha256(nonce, file_key.span(), as_bytes(kPayloadLabel), key.span());
  return key;
}

std::span<const std::uint8_t, stream::kKeySize> key_span(const SecureBuffer& key) {
  return std::span<const std::uint8_t, stream::kKeySize>(key.data(), stream::kKeySize);
}

// Finds the file key among the stanzas, or says why there is none.
Result<SecureBuffer> unwrap_file_key(const std::vector<format::Stanza>& stanzas,
                                     std::span<const X25519Identity> identities) {
  std::size_t x25519_count = 0;
  std::size_t refused_count = 0;
  for (const format::Stanza& stanza : stanzas) {
    if (stanza.type == kScryptType) {
      // A passphrase-encrypted file must not be decryptable by anything else, so the spec makes
      // scrypt the only stanza of its file.
      if (stanzas.size() != 1) return make_error("header", "an scrypt stanza must be the only stanza");
      return make_error("unsupported", "passphrase-encrypted (scrypt) files are not supported");
    }
    if (stanza.type == x25519::kStanzaType) {
      auto checked = x25519::check_stanza(stanza);
      if (!checked) return std::move(checked).error();
      ++x25519_count;
    } else if (stanza.type == kHybridType) {
      ++refused_count;
    }
    // Any other type is someone else's recipient: skipped, as the spec requires.
  }
  for (const X25519Identity& identity : identities) {
    for (const format::Stanza& stanza : stanzas) {
      if (stanza.type != x25519::kStanzaType) continue;
      auto unwrapped = x25519::unwrap(stanza, identity);
      if (!unwrapped) return std::move(unwrapped).error();
      if (unwrapped->has_value()) return std::move(**unwrapped);
    }
  }
  if (x25519_count == 0 && refused_count > 0) {
    return make_error("unsupported",
                      "the file is encrypted only to post-quantum (mlkem768x25519) recipients");
  }
  return make_error("no_identity_matched", "no identity matched any of the file's recipients");
}

}  // namespace

Result<std::vector<std::uint8_t>> encrypt(std::span<const std::uint8_t> plaintext,
                                          std::span<const X25519Recipient> recipients, bool armor) {
  ensure_sodium();
  if (recipients.empty()) return make_error("recipient", "at least one recipient is required");
  SecureBuffer file_key(x25519::kFileKeySize);
  randombytes_buf(file_key.data(), file_key.size());

  format::Header header;
  for (const X25519Recipient& recipient : recipients) {
    auto stanza = x25519::wrap(file_key, recipient);
    if (!stanza) return std::move(stanza).error();
    header.stanzas.push_back(std::move(stanza).value());
  }
  header.mac = header_mac(file_key, as_bytes(format::serialize_mac_input(header.stanzas)));
  const std::string header_text = format::serialize_header(header);

  std::array<std::uint8_t, kPayloadNonceSize> nonce{};
  randombytes_buf(nonce.data(), nonce.size());
  const SecureBuffer key = payload_key(file_key, nonce);

  std::vector<std::uint8_t> out(header_text.size() + nonce.size() +
                                stream::ciphertext_size(plaintext.size()));
  std::memcpy(out.data(), header_text.data(), header_text.size());
  std::memcpy(out.data() + header_text.size(), nonce.data(), nonce.size());
  stream::seal(key_span(key), plaintext,
               std::span<std::uint8_t>(out).subspan(header_text.size() + nonce.size()));
  if (armor) return armor::encode(out);
  return out;
}

Result<SecureBuffer> decrypt(std::span<const std::uint8_t> ciphertext,
                             std::span<const X25519Identity> identities) {
  ensure_sodium();
  std::vector<std::uint8_t> dearmored;
  std::span<const std::uint8_t> file = ciphertext;
  if (armor::looks_armored(ciphertext)) {
    auto decoded = armor::decode(ciphertext);
    if (!decoded) return std::move(decoded).error();
    dearmored = std::move(decoded).value();
    file = dearmored;
  }

  auto parsed = format::parse_header(file);
  if (!parsed) return std::move(parsed).error();
  auto file_key = unwrap_file_key(parsed->header.stanzas, identities);
  if (!file_key) return std::move(file_key).error();

  const auto mac = header_mac(*file_key, file.first(parsed->mac_input_size));
  if (sodium_memcmp(mac.data(), parsed->header.mac.data(), mac.size()) != 0) {
    return make_error("header_mac", "the header MAC does not verify (the header was tampered with)");
  }

  const auto payload = file.subspan(parsed->size);
  // The nonce is read with the header (as the reference implementation and the CCTV vectors do), so
  // a missing or short one is a header failure.
  if (payload.size() < kPayloadNonceSize) return make_error("header", "payload nonce is truncated");
  const auto nonce = payload.first(kPayloadNonceSize);
  const auto chunks = payload.subspan(kPayloadNonceSize);
  auto size = stream::plaintext_size(chunks.size());
  if (!size) return std::move(size).error();

  const SecureBuffer key = payload_key(*file_key, nonce);
  SecureBuffer plaintext = SecureBuffer::for_overwrite(*size);  // every byte is written by open()
  auto opened = stream::open(key_span(key), chunks, plaintext.span());
  if (!opened) return std::move(opened).error();  // plaintext is wiped and freed on the way out
  return plaintext;
}

}  // namespace remo::crypto
