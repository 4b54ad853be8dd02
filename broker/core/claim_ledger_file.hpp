// The plaintext of the one-shot secret ledger (what claims.enc decrypts to), written and read only by
// ClaimLedger.
//
//   <one line of JSON: the bookkeeping>\n<ledger key, 32 bytes><value of pending[0]><value of pending[1]>...
//
//   {"format":"remo-broker-claims","version":1,"pending":[P,...],"finished":[F,...]}
//   P = {"id","project","created_at","expires_at","token_hash","from_base64","value_size"}
//   F = {"id","project","created_at","expires_at","finished_at","state"}
//   times are Unix seconds; token_hash is 64 lowercase hex digits
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
inline constexpr int kVersion = 1;

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

// Writes the whole plaintext into scratch (secure memory, reused from one write to the next so that a
// write costs no allocation of secure memory: on some virtual machines each one costs a TLB shootdown)
// and returns the part used. scratch is reallocated when too small, or far too large. The caller wipes
// the returned span once it is done with it.
std::span<const std::uint8_t> assemble(const crypto::SecureBuffer& ledger_key,
                                       std::span<const PendingView> pending,
                                       std::span<const std::string_view> finished,
                                       crypto::SecureBuffer& scratch);

struct Contents {
  crypto::SecureBuffer ledger_key;
  std::vector<std::pair<PendingRecord, crypto::SecureBuffer>> pending;
  std::vector<ClaimInfo> finished;
};

// Strict: a wrong format or version, a missing or mistyped field, a malformed id or hash, a duplicate id,
// an unknown state, or a tail whose length does not match is an error (code "internal_error", a message
// that names the field, never a value).
Result<Contents> parse(std::span<const std::uint8_t> plaintext);

}  // namespace remo::core::claim_ledger_file
