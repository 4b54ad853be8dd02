#include "broker/lifecycle/key_rotation.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <csignal>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "broker/core/state_file.hpp"
#include "broker/core/timestamp.hpp"
#include "protocol/codes.hpp"
#include "protocol/ops.hpp"

namespace remo::server {
namespace {

using crypto::X25519Recipient;
namespace code = protocol::code;

std::string& armed_crash_step() {
  static std::string step;
  return step;
}

// Test instrumentation only (see arm_test_crash): dies as a power cut would, with nothing flushed.
void crash_point(std::string_view step) {
  if (!armed_crash_step().empty() && armed_crash_step() == step) ::raise(SIGKILL);
}

Error bootstrap_failure(std::string message) {
  return Error{std::string(code::kBootstrapError), std::move(message)};
}

std::filesystem::path marker_file(const BrokerState& broker) {
  return broker.secrets_file.parent_path() / kRotationFileName;
}

bool holds_key(const BrokerState& broker, const X25519Recipient& recipient) {
  return std::any_of(
      broker.identities.begin(), broker.identities.end(),
      [&](const crypto::X25519Identity& identity) { return identity.recipient() == recipient; });
}

// Keeps the held identities whose recipient is one of keep, first in keep's order; wipes the others.
void keep_identities(BrokerState& broker, std::span<const X25519Recipient> keep) {
  std::vector<crypto::X25519Identity> kept;
  for (const auto& recipient : keep) {
    for (auto& identity : broker.identities) {
      if (identity.recipient() == recipient) {
        kept.push_back(std::move(identity));
        break;
      }
    }
  }
  broker.identities = std::move(kept);  // the others' secure memory is wiped as they are destroyed
  broker.recipient = broker.identities.front().recipient().encode();
}

// secrets.enc holds the last bundle as the laptop encrypted it; re-encrypting it means decrypting it with
// the keys held and encrypting the same plaintext (in secure memory only) to the new recipients.
Result<void> reencrypt_secrets(const BrokerState& broker, std::span<const X25519Recipient> to) {
  auto bytes = core::read_file_if_exists(broker.secrets_file);
  if (!bytes) return std::move(bytes).error();
  if (!bytes->has_value()) return {};  // nothing pushed (or cleared): nothing to carry over
  auto plaintext = crypto::decrypt(**bytes, broker.identities);
  if (!plaintext) {
    return bootstrap_failure(broker.secrets_file.string() + " does not decrypt with the broker's keys (" +
                             plaintext.error().code + ")");
  }
  auto ciphertext = crypto::encrypt(plaintext->span(), to);
  if (!ciphertext)
    return Error{std::string(code::kInternalError), "re-encryption failed: " + ciphertext.error().message};
  return core::write_file_atomically(broker.secrets_file, std::span<const std::uint8_t>(*ciphertext), 0600);
}

Result<void> rekey_claims(BrokerState& broker, std::span<const X25519Recipient> to) {
  if (!broker.claims) return {};
  return broker.claims->rekey(to);
}

// After a failed step: puts the files back to the recipients they had (best effort: the failure that
// stopped us may stop this too; every file stays openable by the old key either way).
void roll_back(BrokerState& broker, std::span<const X25519Recipient> before) {
  if (auto undone = rekey_claims(broker, before); !undone)
    spdlog::error("rotate-bootstrap: {}", undone.error().message);
  if (auto undone = reencrypt_secrets(broker, before); !undone)
    spdlog::error("rotate-bootstrap: {}", undone.error().message);
}

std::vector<X25519Recipient> recipients_before(const BrokerState& broker, const X25519Recipient& old) {
  if (broker.rotation) return {old, broker.rotation->new_recipient};
  return {old};
}

}  // namespace

void arm_test_crash(std::string step) { armed_crash_step() = std::move(step); }

Result<RotationBegun> begin_rotation(BrokerState& broker, std::optional<crypto::X25519Identity> supplied) {
  if (broker.bootstrap_error) return bootstrap_failure("cannot rotate: " + *broker.bootstrap_error);
  if (broker.bundle_error) {
    return bootstrap_failure("cannot rotate while the saved bundle could not be loaded (" +
                             *broker.bundle_error + "); push-creds or clear-creds first");
  }
  const auto& pending = broker.rotation;
  if (pending && supplied && supplied->recipient() == pending->new_recipient) {
    // The CLI hands back the new key after the broker restarted with the old credential: the files are
    // encrypted to both already.
    if (!holds_key(broker, pending->new_recipient)) {
      broker.identities.insert(broker.identities.begin(), std::move(*supplied));
      broker.recipient = pending->new_recipient.encode();
    }
    spdlog::info("rotate-bootstrap: holding the new key {} of the pending rotation again", broker.recipient);
    return RotationBegun{pending->new_recipient, pending->old_recipient, std::nullopt};
  }
  const X25519Recipient old = pending ? pending->old_recipient : broker.identities.front().recipient();
  if (!holds_key(broker, old)) {
    return bootstrap_failure("a rotation to " + pending->new_recipient.encode() +
                             " is pending and this broker runs with that key only: confirm it instead of "
                             "starting another (remo-brokerctl rotate)");
  }
  crypto::X25519Identity next = supplied ? std::move(*supplied) : crypto::X25519Identity::generate();
  if (next.recipient() == old) return bootstrap_failure("the new identity is the broker's current key");
  const auto before = recipients_before(broker, old);
  const std::array<X25519Recipient, 2> both{old, next.recipient()};

  if (auto done = reencrypt_secrets(broker, both); !done) {
    roll_back(broker, before);
    return std::move(done).error();
  }
  crash_point("begin-secrets");
  if (auto done = rekey_claims(broker, both); !done) {
    roll_back(broker, before);
    return std::move(done).error();
  }
  crash_point("begin-claims");
  PendingRotation rotation{old, next.recipient(), core::format_rfc3339_utc(std::chrono::system_clock::now())};
  if (auto done = write_rotation_marker(marker_file(broker), rotation); !done) {
    roll_back(broker, before);
    return std::move(done).error();
  }
  crash_point("begin-marker");

  RotationBegun begun{next.recipient(), old, std::nullopt};
  if (!supplied) begun.generated_identity = next.encode();
  broker.identities.insert(broker.identities.begin(), std::move(next));
  const std::array<X25519Recipient, 2> new_first{both[1], both[0]};
  keep_identities(broker, new_first);
  broker.rotation = std::move(rotation);
  spdlog::info(
      "rotate-bootstrap: state encrypted to the old key {} and the new key {}; pending until confirmed",
      old.encode(), broker.recipient);
  return begun;
}

Result<void> confirm_rotation(BrokerState& broker, const X25519Recipient& expected) {
  if (!broker.rotation) return bootstrap_failure("no bootstrap key rotation is pending");
  const PendingRotation rotation = *broker.rotation;
  if (expected != rotation.new_recipient) {
    return bootstrap_failure("the pending rotation is to another recipient (" +
                             rotation.new_recipient.encode() + ")");
  }
  if (!holds_key(broker, rotation.new_recipient)) {
    return bootstrap_failure(
        "this broker does not hold the new key (it started with the old credential): send it first with "
        "rotate-bootstrap {identity}");
  }
  const std::array<X25519Recipient, 2> both{rotation.old_recipient, rotation.new_recipient};
  const std::array<X25519Recipient, 1> only_new{rotation.new_recipient};
  // Claims first: a crash between the two writes leaves secrets.enc still openable by both keys.
  if (auto done = rekey_claims(broker, only_new); !done) return std::move(done).error();
  crash_point("confirm-claims");
  if (auto done = reencrypt_secrets(broker, only_new); !done) {
    roll_back(broker, both);
    return std::move(done).error();
  }
  crash_point("confirm-secrets");
  if (auto done = remove_rotation_marker(marker_file(broker)); !done) return std::move(done).error();
  crash_point("confirm-marker");

  keep_identities(broker, only_new);  // the old key is wiped here
  broker.rotation.reset();
  spdlog::info("rotate-bootstrap: confirmed; state encrypted to {} only, the old key {} is retired",
               broker.recipient, rotation.old_recipient.encode());
  return {};
}

void resume_rotation(BrokerState& broker) {
  const std::string key = broker.identities.front().recipient().encode();
  auto marker = read_rotation_marker(marker_file(broker));
  if (!marker) {
    broker.bootstrap_error = marker.error().message;
  } else if (marker->has_value()) {
    broker.rotation = std::move(**marker);
    const auto& rotation = *broker.rotation;
    if (!holds_key(broker, rotation.old_recipient) && !holds_key(broker, rotation.new_recipient)) {
      broker.bootstrap_error = "bootstrap key " + key + " is neither the old key (" +
                               rotation.old_recipient.encode() + ") nor the new key (" +
                               rotation.new_recipient.encode() +
                               ") of the pending rotation; start with the credential of one of them";
    } else {
      spdlog::warn(
          "a bootstrap key rotation from {} to {} (started {}) is pending; run `remo-brokerctl rotate` "
          "to finish it",
          rotation.old_recipient.encode(), rotation.new_recipient.encode(), rotation.started_at);
      // The ledger was opened with this key's recipient; later writes must keep both until confirmed.
      const std::array<X25519Recipient, 2> both{rotation.old_recipient, rotation.new_recipient};
      if (auto rekeyed = rekey_claims(broker, both); !rekeyed) {
        spdlog::error("one-shot secret ledger: {}", rekeyed.error().message);
      }
    }
  }
  if (!broker.bootstrap_error && broker.bundle_error &&
      broker.bundle_error->find("(no_identity_matched)") != std::string::npos) {
    broker.bootstrap_error = "bootstrap key " + key + " does not decrypt " + broker.secrets_file.string() +
                             ", which is encrypted to other keys" +
                             (broker.rotation ? "; a rotation to " + broker.rotation->new_recipient.encode() +
                                                    " is pending: start with that credential"
                                              : "; was the key rotated? start with the current credential");
  }
  if (broker.bootstrap_error) {
    spdlog::critical("{}; serving nothing from the saved state, which is left untouched",
                     *broker.bootstrap_error);
  }
}

Json rotation_status(const BrokerState& broker) {
  Json rotation = nullptr;
  if (broker.rotation) {
    const auto& r = *broker.rotation;
    rotation = Json{{"old_recipient", r.old_recipient.encode()},
                    {"new_recipient", r.new_recipient.encode()},
                    {"started_at", r.started_at},
                    {"old_key_loaded", holds_key(broker, r.old_recipient)},
                    {"new_key_loaded", holds_key(broker, r.new_recipient)}};
  }
  return Json{{"rotation", std::move(rotation)},
              {protocol::reply::kBootstrapError,
               broker.bootstrap_error ? Json(*broker.bootstrap_error) : Json(nullptr)}};
}

Result<void> check_push_allowed(const BrokerState& broker) {
  if (!broker.rotation) return {};
  return bootstrap_failure("a bootstrap key rotation to " + broker.rotation->new_recipient.encode() +
                           " is pending; finish it with `remo-brokerctl rotate` before pushing");
}

}  // namespace remo::server
