// Rotating the bootstrap key without a window where the saved secrets are lost or served by a retired key.
//
// The sequence (remo-brokerctl rotate drives it; README "Rotating the bootstrap key"):
//   1. begin    (rotate-bootstrap {identity?}): secrets.enc and claims.enc are re-encrypted to BOTH the
//               old and the new recipient, then state_dir/rotation.json records the pending rotation.
//               The broker holds both keys; the new one becomes its own (recipient, get-public-key).
//   2. the CLI writes the new identity into the credential file systemd hands over at the next start.
//   3. confirm  (rotate-bootstrap {confirm:true, recipient}): claims.enc, then secrets.enc, are
//               re-encrypted to the new recipient alone, rotation.json is removed, the old key is wiped.
// Each file write is atomic, so a crash at any instant leaves every file openable by the key of the
// credential file in force at that instant: before step 2 completes that is the old key (files hold
// old, or old+new), after it the new key (files hold old+new, or new). A broker started with a key that
// opens none of the saved state does not serve an empty store silently: status carries bootstrap_error,
// the log a critical line, and the files are left as they are.
//
// While a rotation is pending, push-creds is refused (a bundle is stored as the laptop encrypted it, to
// one recipient, which would break the invariant above); everything else keeps working.
//
// Everything here runs on the control-plane thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "broker/common/result.hpp"
#include "broker/crypto/age.hpp"
#include "broker/crypto/secure_buffer.hpp"
#include "broker/lifecycle/broker_state.hpp"
#include "protocol/request.hpp"

namespace remo::server {

struct RotationBegun {
  crypto::X25519Recipient new_recipient;
  crypto::X25519Recipient old_recipient;
  std::optional<crypto::SecureBuffer> generated_identity;  // "AGE-SECRET-KEY-1...", only when generated
};

// Step 1. With a supplied identity whose recipient is the pending rotation's new one, the broker takes
// that key back (after a restart with the old credential) and changes nothing else. Any other request
// while a rotation is pending starts it over from the old key, which the broker must hold.
// Errors: bootstrap_error (the saved state cannot be opened, the broker lacks the old key, the new key
// equals the old), internal_error (a write failed; files are rolled back where possible, nothing else
// changed).
Result<RotationBegun> begin_rotation(BrokerState& broker, std::optional<crypto::X25519Identity> supplied);

// Step 3. expected must be the pending rotation's new recipient, and the broker must hold its key.
// Errors: bootstrap_error (no rotation pending, another recipient, key not held), internal_error.
Result<void> confirm_rotation(BrokerState& broker, const crypto::X25519Recipient& expected);

// At start-up, after the saved bundle was loaded (and the claim ledger opened, when there is one): reads
// rotation.json, keeps claims.enc encrypted to both keys while a rotation is pending, and sets
// broker.bootstrap_error (logged as critical) when the key opens none of the saved state.
void resume_rotation(BrokerState& broker);

// status: {"rotation": null | {old_recipient, new_recipient, started_at, old_key_loaded, new_key_loaded},
//          "bootstrap_error": null | "..."}
Json rotation_status(const BrokerState& broker);

// push-creds during a pending rotation: bootstrap_error saying how to finish it.
Result<void> check_push_allowed(const BrokerState& broker);

// Test instrumentation for the crash tests (tests/integration/test_rotate.py): the daemon raises SIGKILL
// right after the named step ("begin-secrets", "begin-claims", "begin-marker", "confirm-claims",
// "confirm-secrets", "confirm-marker"). The daemon arms it only in --sandbox mode, from
// REMO_TEST_CRASH_AT.
void arm_test_crash(std::string step);

}  // namespace remo::server
