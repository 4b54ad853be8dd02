// Fuzz target: the whole age decryptor (armor, header, X25519 unwrap, header MAC, STREAM payload) with the
// fixed test identity, so that the seed files (encrypted to it by the age CLI) and their mutations reach
// the payload. Invariant: a failure names one of the layer's documented failure classes; a success
// re-encrypts and decrypts to the same plaintext.
#include <algorithm>
#include <array>

#include "broker/crypto/age.hpp"
#include "tests/fuzz/fuzz_targets.hpp"
#include "tests/fuzz/fuzz_test_keys.hpp"

namespace remo::fuzz {
namespace {

constexpr std::array<std::string_view, 6> kDecryptFailureClasses = {
    "armor", "header", "unsupported", "no_identity_matched", "header_mac", "payload"};

const std::vector<crypto::X25519Identity>& test_identities() {
  static const std::vector<crypto::X25519Identity> identities = [] {
    std::vector<crypto::X25519Identity> out;
    auto identity = crypto::X25519Identity::parse(kTestIdentity);
    fuzz_require(identity.ok(), "the test identity parses");
    out.push_back(std::move(identity).value());
    return out;
  }();
  return identities;
}

}  // namespace

void age_decrypt(Input input) {
  auto plaintext = crypto::decrypt(input, test_identities());
  if (!plaintext) {
    const std::string& failure = plaintext.error().code;
    fuzz_require(std::find(kDecryptFailureClasses.begin(), kDecryptFailureClasses.end(), failure) !=
                     kDecryptFailureClasses.end(),
                 "decryption fails with a documented failure class");
    return;
  }
  const std::array<crypto::X25519Recipient, 1> recipients{test_identities()[0].recipient()};
  auto ciphertext = crypto::encrypt(plaintext->span(), recipients);
  fuzz_require(ciphertext.ok(), "a decrypted plaintext encrypts again");
  auto again = crypto::decrypt(*ciphertext, test_identities());
  fuzz_require(again.ok() && again->view() == plaintext->view(), "the plaintext survives a round trip");
}

}  // namespace remo::fuzz
