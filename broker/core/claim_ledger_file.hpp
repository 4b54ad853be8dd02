// The plaintexts of the one-shot secret ledger, written and read only by ClaimLedger: the snapshot (what
// claims.enc decrypts to) and a journal frame (what each frame of claims.journal decrypts to).
//
//   snapshot: <one line of JSON>\n<ledger key, 32 bytes><value of pending[0]><value of pending[1]>...
//   {"format":"remo-broker-claims","version":2,"generation":G,"pending":[P,...],"finished":[F,...]}
//
//   journal frame: <one line of JSON>\n<value of pending[0]><value of pending[1]>...
//   {"format":"remo-broker-claims-journal","version":1,"generation":G,"pending":[P,...],"finished":[F,...]}
//
//   P = {"id","project","created_at","expires_at","token_hash","from_base64","value_size"}
//   F = {"id","project","created_at","expires_at","finished_at","state"}
//   times are Unix seconds; token_hash is 64 lowercase hex digits; G is a random 64-bit number chosen at
//   every snapshot: a journal frame applies on top of the snapshot with the same G (its pending records are
//   created, its finished records end pending ones); a frame of another G is stale, already folded into
//   a snapshot. A version 1 snapshot (no G, no journal) still loads.
//
// Why not one JSON document with the values inside: nlohmann::json keeps strings in ordinary heap memory
// and its lexer grows a buffer that is freed without being wiped. Keeping the key and the values in a
// binary tail means no secret byte ever passes through the JSON library, in either direction; the JSON
// line holds nothing secret (the token hashes are useless without the ledger key).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "broker/common/result.hpp"
#include "broker/core/claim_ledger.hpp"
#include "broker/core/claim_token.hpp"
#include "broker/crypto/secure_buffer.hpp"

namespace remo::core::claim_ledger_file {

inline constexpr std::string_view kFormat = "remo-broker-claims";
inline constexpr int kVersion = 2;
inline constexpr std::string_view kJournalFormat = "remo-broker-claims-journal";
inline constexpr int kJournalVersion = 1;

struct PendingRecord {
  std::string id;
  std::string project;
  std::chrono::sys_seconds created_at;
  std::chrono::sys_seconds expires_at;
  claim_token::Hash token_hash{};
  bool from_base64 = false;
  std::size_t value_size = 0;
};

// The JSON of one record, computed once per record and cached by the ledger: a rewrite of the whole
// ledger then costs copies, not serialisation.
std::string pending_json(const PendingRecord& record);
std::string finished_json(const ClaimInfo& info);  // info.finished_at must be set

struct PendingView {
  std::string_view json;                // from pending_json
  std::span<const std::uint8_t> value;  // value_size bytes
};

// Writes the whole snapshot into scratch (secure memory, reused from one write to the next so that a
// write costs no allocation of secure memory: on some virtual machines each one costs a TLB shootdown)
// and returns the part used. scratch is reallocated when too small, or far too large. The caller wipes
// the returned span once it is done with it.
std::span<const std::uint8_t> assemble(const crypto::SecureBuffer& ledger_key, std::uint64_t generation,
                                       std::span<const PendingView> pending,
                                       std::span<const std::string_view> finished,
                                       crypto::SecureBuffer& scratch);

// The same for one journal frame: the secrets a batch created and the tombstones of those it finished.
std::span<const std::uint8_t> assemble_journal_frame(std::uint64_t generation,
                                                     std::span<const PendingView> pending,
                                                     std::span<const std::string_view> finished,
                                                     crypto::SecureBuffer& scratch);

struct Contents {
  std::uint64_t generation = 0;
  crypto::SecureBuffer ledger_key;  // empty for a journal frame
  std::vector<std::pair<PendingRecord, crypto::SecureBuffer>> pending;
  std::vector<ClaimInfo> finished;
};

// Strict: a wrong format or version, a missing or mistyped field, a malformed id or hash, a duplicate id,
// an unknown state, or a tail whose length does not match is an error (code "internal_error", a message
// that names the field, never a value).
Result<Contents> parse(std::span<const std::uint8_t> plaintext);
Result<Contents> parse_journal_frame(std::span<const std::uint8_t> plaintext);

}  // namespace remo::core::claim_ledger_file
