// Fuzz target: the SSHSIG armor and blob parser, the signature check, and the allowed_signers parser, each
// on the whole input. The signature is checked over a fixed message against an allowed_signers list made
// from the signature's own key, so a parsed signature always reaches the Ed25519 verification and the
// namespace rules (the seeds are real `ssh-keygen -Y sign` outputs over that message).
#include <chrono>
#include <string>

#include "broker/crypto/ssh_signature.hpp"
#include "tests/fuzz/fuzz_targets.hpp"

namespace remo::fuzz {
namespace {

// tests/fuzz/make_seeds.sh signs exactly these bytes.
constexpr std::string_view kSignedMessage = "remo-broker fuzz message\n";

void check_refusal(const Error& error) {
  fuzz_require(error.code == "signature_invalid", "signature errors are signature_invalid");
}

}  // namespace

void ssh_signature(Input input) {
  const std::string_view text = as_text(input);
  const auto message =
      std::span(reinterpret_cast<const std::uint8_t*>(kSignedMessage.data()), kSignedMessage.size());

  if (auto signature = crypto::parse_ssh_signature(text)) {
    crypto::AllowedSigners allowed;
    allowed.signers.push_back({"fuzz@remo-broker", signature->public_key, std::string("remo-broker"),
                               std::nullopt, std::nullopt, "", 1});
    auto match = crypto::verify_ssh_signature(message, *signature, allowed);
    if (match) {
      fuzz_require(match->principal == "fuzz@remo-broker", "the matching line's principal is reported");
      fuzz_require(match->fingerprint == crypto::ssh_key_fingerprint(signature->public_key),
                   "the signer's fingerprint is reported");
    } else {
      check_refusal(match.error());
    }
    // The armored path must agree with the parsed one.
    auto again = crypto::verify_ssh_signature(message, text, allowed);
    fuzz_require(again.ok() == match.ok(), "verifying the armor agrees with verifying the parsed signature");
  } else {
    check_refusal(signature.error());
  }

  if (auto signers = crypto::parse_allowed_signers(text)) {
    for (const auto& signer : signers->signers) {
      fuzz_require(signer.line >= 1, "a signer knows its line");
    }
  } else {
    fuzz_require(signers.error().code == "allowed_signers", "allowed_signers errors name the file");
  }
}

}  // namespace remo::fuzz
