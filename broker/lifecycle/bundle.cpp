#include "broker/lifecycle/bundle.hpp"

#include <string>
#include <string_view>

#include "protocol/codes.hpp"

namespace remo::server {
namespace {

// The age layer's failure classes (see broker/crypto/age.hpp), in words. Its own messages are not passed
// on: only the class is, so nothing derived from the file's content can reach the client.
std::string_view describe_decrypt_failure(std::string_view failure_class) {
  if (failure_class == "armor") return "the ASCII armor is malformed";
  if (failure_class == "header") return "the age header is malformed";
  if (failure_class == "unsupported") return "it uses a recipient type this broker does not accept";
  if (failure_class == "no_identity_matched") return "it is not encrypted to this broker's recipient";
  if (failure_class == "header_mac") return "the header MAC does not verify";
  if (failure_class == "payload") return "the payload is truncated or has been tampered with";
  return "decryption failed";
}

}  // namespace

Result<core::SecretSet> open_bundle(std::span<const std::uint8_t> ciphertext,
                                    std::span<const crypto::X25519Identity> identities) {
  auto plaintext = crypto::decrypt(ciphertext, identities);
  if (!plaintext) {
    const std::string& failure_class = plaintext.error().code;
    return Error{std::string(protocol::code::kDecryptFailed),
                 "bundle does not decrypt (" + failure_class +
                     "): " + std::string(describe_decrypt_failure(failure_class))};
  }
  return core::SecretSet::parse_bundle(plaintext->view());
}

}  // namespace remo::server
