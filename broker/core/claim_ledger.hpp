// ClaimLedger: one-shot secrets, each handed to exactly one claimer (the provisioner pattern: an admin
// creates a secret for a worker that does not exist yet, and the first worker to present the token gets
// it; nobody ever gets it again).
//
// Guarantees
//   - Exactly once. A claim marks its entry in flight under the ledger's mutex, so no second claimer can
//     take it, and returns the value only after the write that finishes it is durably on disk. Any number
//     of concurrent claimers, restarts and crashes cannot give a claimed secret a second life: a journal
//     frame is either whole and fdatasynced (the claim stands) or cut short and dropped at the next open
//     (no value was returned), and the snapshot is replaced atomically.
//   - Durable replies. create, claim, discard, revoke, expire and rekey return success only once their
//     effect is on disk. When the write fails, every change of that write is undone in memory (a claim's
//     secret is pending again, a created one never existed) and the caller gets "internal_error".
//     (A failure after the rename, at the directory fsync, may leave the change in the file; the next
//     write brings file and memory back in line. A crash in that window can lose a secret, never revive
//     one.)
//   - Group commit. Concurrent changes share one write: whichever waiter finds no write in progress
//     becomes the leader, appends one frame with the batch's changes to the journal (encrypt, write,
//     fdatasync; see claim_journal.hpp), then wakes everyone whose change that write carried. The first
//     write, a rekey, compact() and a journal grown past the snapshot's size (or one that failed) write a
//     whole snapshot instead (encrypt, temp file, fsync, rename, fsync dir) and empty the journal. Throughput
//     grows with the number of claimers instead of being one fsync per claim. A leader whose batch is smaller
//     than the previous one waits up to half the last write time (at most 2 ms) for the previous batch's
//     callers to rejoin.
//   - Nothing readable at rest. The snapshot (state_dir/claims.enc, 0600) and every journal frame
//     (state_dir/claims.journal, 0600) are age files encrypted to the bootstrap recipient. Tokens are never
//     stored: the ledger keeps a BLAKE2b hash of each pending token keyed with a 32-byte ledger key, itself
//     kept in secure memory and inside the encrypted file.
//   - No secret in ordinary memory here. Values, tokens and the ledger key live in SecureBuffers; the
//     ledger's plaintext is assembled in secure memory and keeps the secrets out of the JSON library
//     (see claim_ledger_file.hpp). What remains is the caller's: the token arrives as a string_view and
//     leaves in ClaimTicket::token, and the wire layer's JSON strings hold them in ordinary heap memory
//     for the life of a request; wipe those buffers there.
//   - Silence about other claims. An unknown token, a claimed, expired, revoked or discarded one, and a
//     token of another project all get the same "not_found" reply.
//   - Listings carry ids, projects, times and states; never a token, a hash or a value. Finished claims
//     are kept as tombstones (no value, no hash) so claim-list can report them, newest max_finished only.
//
// Thread safety: every member function may be called from any thread concurrently, except that the
// ledger must outlive every call in progress (destroy it only after the server has stopped).
//
// Error codes (protocol/codes.hpp):
//   "not_found"       claim/discard: no pending secret for this token in this project (one message for
//                     every reason); revoke: no pending secret with this id
//   "protocol_error"  create: ttl outside kMinTtlSeconds..kMaxTtlSeconds, an empty value, a value over
//                     kMaxValueBytes, an invalid project name, or a full ledger (max_pending secrets
//                     or max_pending_bytes of values already pending)
//   "internal_error"  the change could not be made durable (nothing changed); open: the ledger file
//                     cannot be read, decrypted by any identity, or parsed
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "broker/common/result.hpp"
#include "broker/core/secret_set.hpp"
#include "broker/crypto/age.hpp"
#include "broker/crypto/secure_buffer.hpp"

namespace remo::core {

enum class ClaimState {
  kPending,  // waiting for its one claimer
  kClaimed,  // handed out; the value is gone
  kExpired,  // its ttl ran out before anyone claimed it (effective as soon as the ttl runs out; the value
             // is wiped by the next expire())
  kRevoked,  // withdrawn by an admin (revoke)
  kDeleted,  // withdrawn by a holder of the token without reading it (discard)
};

// "pending", "claimed", "expired", "revoked", "deleted".
std::string_view to_string(ClaimState state) noexcept;
std::optional<ClaimState> claim_state_from_string(std::string_view text) noexcept;

// What create returns to the admin. The token is the only copy of the capability: give it to the worker.
struct ClaimTicket {
  std::string id;
  crypto::SecureBuffer token;  // "rbc_" + 43 URL-safe base64 characters (256 random bits)
  std::chrono::sys_seconds expires_at;
};

// One row of list(): never a token, a token hash or a value.
struct ClaimInfo {
  std::string id;
  std::string project;
  std::chrono::sys_seconds created_at;
  std::chrono::sys_seconds expires_at;
  std::optional<std::chrono::sys_seconds> finished_at;  // when claimed, expired, revoked or deleted
  ClaimState state = ClaimState::kPending;
};

class ClaimLedger {
 public:
  static constexpr std::string_view kFileName = "claims.enc";
  static constexpr std::int64_t kMinTtlSeconds = 1;
  static constexpr std::int64_t kMaxTtlSeconds = 30 * 24 * 3600;  // 30 days
  static constexpr std::size_t kMaxValueBytes = 64 * 1024;

  using Clock = std::function<std::chrono::system_clock::time_point()>;

  struct Options {
    std::filesystem::path file;         // usually state_dir / kFileName
    crypto::X25519Recipient recipient;  // the bootstrap key's recipient: every write encrypts to it
    std::size_t max_finished = 1000;    // tombstones kept for list()
    std::size_t max_pending = 10000;    // these two bound the size of every rewrite of the ledger
    std::size_t max_pending_bytes = 8 * 1024 * 1024;                // sum of the pending values
    Clock clock = [] { return std::chrono::system_clock::now(); };  // injectable for tests
  };

  // Loads the ledger from options.file, decrypting with any of the identities (pass the old and the new
  // key while a rotation is under way), or starts an empty one when the file does not exist. Secrets
  // whose ttl ran out while the broker was down load as pending and are never claimable; the next
  // expire() wipes them. Does not write.
  static Result<ClaimLedger> open(Options options, std::span<const crypto::X25519Identity> identities);

  ClaimLedger(ClaimLedger&&) noexcept;
  ClaimLedger& operator=(ClaimLedger&&) noexcept;
  ~ClaimLedger();

  // Stores a one-shot secret for project, claimable for ttl_seconds, and returns its id and token once
  // it is durable. from_base64 is remembered so the claim reply can use value_b64.
  Result<ClaimTicket> create(std::string_view project, crypto::SecureBuffer value, bool from_base64,
                             std::int64_t ttl_seconds);

  // Hands out the secret of a pending token of this project, exactly once. The value is returned only
  // after the ledger without it is durable; on "internal_error" the secret stays pending and claimable.
  // When the token names a usable secret, its id is stored in *claim_id (for the audit line), whatever
  // the outcome; on "not_found" *claim_id is left alone.
  Result<SecretValue> claim(std::string_view project, std::string_view token,
                            std::string* claim_id = nullptr);

  // Removes the secret of a pending token of this project without reading it (state "deleted").
  // Replies ok only once the removal is durable; on "internal_error" it stays pending. claim_id: as claim.
  Result<void> discard(std::string_view project, std::string_view token, std::string* claim_id = nullptr);

  // Withdraws a pending secret by id (admin; state "revoked"), durably.
  Result<void> revoke(std::string_view id);

  // Wipes every pending secret whose ttl has run out at `now` (state "expired") and returns them (ordered
  // by id), once durable, for the caller to audit as claim.expired. On "internal_error" nothing changed; call
  // again later (they stay unclaimable meanwhile). Meant for a periodic timer.
  Result<std::vector<ClaimInfo>> expire(std::chrono::system_clock::time_point now);

  // Re-encrypts the ledger to new recipients (rotate-bootstrap: the old and the new key while the rotation
  // is pending, then the new one alone), durably; every later write encrypts to them too. On error the
  // previous recipients stay in force and the file is unchanged. An empty list is a protocol_error.
  Result<void> rekey(std::span<const crypto::X25519Recipient> recipients);
  Result<void> rekey(const crypto::X25519Recipient& recipient);

  // Pending secrets first (oldest first), then tombstones (oldest first). A pending secret whose ttl has
  // run out is listed as expired. Changes whose write is still in progress are not shown yet.
  std::vector<ClaimInfo> list() const;

  std::size_t pending_count() const;

  // Folds the journal into a new snapshot when it holds any frame (durably), so that the values of
  // finished secrets leave the journal. A no-op when it is empty. Meant for the same periodic timer as
  // expire(). On "internal_error" nothing changed.
  Result<void> compact();

  // state_dir/claims.journal beside state_dir/claims.enc.
  static std::filesystem::path journal_file(const std::filesystem::path& file);

 private:
  struct Impl;
  explicit ClaimLedger(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace remo::core
