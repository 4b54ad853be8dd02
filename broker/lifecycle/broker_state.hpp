// What the control plane knows about the broker as a whole. Owned by the daemon. Admin ops read and change
// it on the control-plane thread only; the one exception is the secret store, which project sessions read
// concurrently through lock-free snapshots.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/core/audit_log.hpp"
#include "broker/core/claim_ledger.hpp"
#include "broker/core/lock_state.hpp"
#include "broker/core/rate_limiter.hpp"
#include "broker/core/secret_store.hpp"
#include "broker/crypto/age.hpp"
#include "broker/crypto/ssh_signature.hpp"
#include "broker/lifecycle/rotation_marker.hpp"

namespace remo::server {

struct BrokerState {
  core::SecretStore store;
  std::vector<crypto::X25519Identity> identities;  // identities[0] is the broker's own key
  std::string recipient;                           // "age1..." of identities[0]
  std::string decryption_key_source;               // as DaemonConfig: "credentials-directory[:tier]", ...
  std::filesystem::path secrets_file;              // state_dir/secrets.enc: the last bundle, as ciphertext
  std::chrono::steady_clock::time_point started_at = std::chrono::steady_clock::now();
  uid_t broker_uid = 0;

  // Why the bundle in secrets.enc could not be loaded at start-up, written by a push or removed by a clear;
  // status reports it as last_error until the next successful push or clear.
  std::optional<std::string> bundle_error;

  std::unique_ptr<core::ClaimLedger>
      claims;  // one-shot secrets (state_dir/claims.enc); null when it could not be opened
  std::optional<std::string> claims_error;  // why claims is null; status reports it as last_error

  // The kill switch (state_dir/locked.json) and the per-project rate limits: the daemon creates both before
  // any socket; project sessions read them through their DataPlaneGate, admin ops change them.
  std::unique_ptr<core::LockState> lock;
  std::unique_ptr<core::RateLimiter> rate_limiter;
  // The audit log, for status and for refusing admin ops while it cannot be written; set by the daemon.
  const core::AuditLog* audit = nullptr;

  // Set when allowed_signers is configured: push-creds then needs an SSH signature (namespace remo-broker)
  // over the ciphertext by one of these keys, checked before anything is decrypted.
  std::optional<crypto::AllowedSigners> allowed_signers;

  // A bootstrap key rotation under way (state_dir/rotation.json, see key_rotation.hpp): until it is
  // confirmed, secrets.enc and claims.enc are encrypted to both its old and its new key.
  std::optional<PendingRotation> rotation;
  // Set at start-up when the bootstrap key cannot open the saved state (it is encrypted to other keys):
  // the broker serves nothing from it, never overwrites it by itself, and status says why.
  std::optional<std::string> bootstrap_error;
};

}  // namespace remo::server
