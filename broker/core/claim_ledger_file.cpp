#include "broker/core/claim_ledger_file.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "broker/core/manifest.hpp"
#include "protocol/codes.hpp"

namespace remo::core::claim_ledger_file {
namespace {

using nlohmann::json;

Error corrupt(std::string what) {
  return Error{std::string(protocol::code::kInternalError), "one-shot secret ledger is corrupt: " + what};
}

std::int64_t unix_seconds(std::chrono::sys_seconds when) { return when.time_since_epoch().count(); }

// Appends bytes at out[offset...] and advances offset; the buffer was sized for everything up front.
void put(crypto::SecureBuffer& out, std::size_t& offset, std::span<const std::uint8_t> bytes) {
  if (!bytes.empty()) std::memcpy(out.data() + offset, bytes.data(), bytes.size());
  offset += bytes.size();
}

void put(crypto::SecureBuffer& out, std::size_t& offset, std::string_view text) {
  put(out, offset,
      std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(text.data()),  // NOLINT: byte view
                                    text.size()));
}

void put_joined(crypto::SecureBuffer& out, std::size_t& offset, std::span<const std::string_view> parts) {
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i != 0) put(out, offset, std::string_view(","));
    put(out, offset, parts[i]);
  }
}

// The fields every record has. Throws json::exception on a missing or mistyped field (caught in parse).
struct Common {
  std::string id;
  std::string project;
  std::chrono::sys_seconds created_at;
  std::chrono::sys_seconds expires_at;
};

std::chrono::sys_seconds time_field(const json& record, const char* key) {
  return std::chrono::sys_seconds(std::chrono::seconds(record.at(key).get<std::int64_t>()));
}

Result<Common> parse_common(const json& record, std::unordered_set<std::string>& seen_ids) {
  if (!record.is_object()) return corrupt("a record is not an object");
  Common common{record.at("id").get<std::string>(), record.at("project").get<std::string>(),
                time_field(record, "created_at"), time_field(record, "expires_at")};
  if (!claim_token::looks_like_id(common.id)) return corrupt("malformed id");
  if (!seen_ids.insert(common.id).second) return corrupt("duplicate id " + common.id);
  if (!is_valid_project_name(common.project)) return corrupt("invalid project name in " + common.id);
  return common;
}

}  // namespace

std::string pending_json(const PendingRecord& record) {
  return json{{"id", record.id},
              {"project", record.project},
              {"created_at", unix_seconds(record.created_at)},
              {"expires_at", unix_seconds(record.expires_at)},
              {"token_hash", claim_token::hash_to_hex(record.token_hash)},
              {"from_base64", record.from_base64},
              {"value_size", record.value_size}}
      .dump();
}

std::string finished_json(const ClaimInfo& info) {
  return json{{"id", info.id},
              {"project", info.project},
              {"created_at", unix_seconds(info.created_at)},
              {"expires_at", unix_seconds(info.expires_at)},
              {"finished_at", unix_seconds(info.finished_at.value_or(info.created_at))},
              {"state", std::string(to_string(info.state))}}
      .dump();
}

namespace {

// One document: the JSON line, then the ledger key (snapshots only), then the pending values.
std::span<const std::uint8_t> assemble_document(std::string_view format, int version,
                                                std::uint64_t generation,
                                                const crypto::SecureBuffer* ledger_key,
                                                std::span<const PendingView> pending,
                                                std::span<const std::string_view> finished,
                                                crypto::SecureBuffer& scratch) {
  const std::string head = R"({"format":")" + std::string(format) + R"(","version":)" +
                           std::to_string(version) + R"(,"generation":)" + std::to_string(generation) +
                           R"(,"pending":[)";
  constexpr std::string_view kMiddle = R"(],"finished":[)";
  constexpr std::string_view kTail = "]}\n";

  std::size_t size = head.size() + kMiddle.size() + kTail.size() + (ledger_key ? ledger_key->size() : 0);
  for (const auto& p : pending) size += p.json.size() + 1 + p.value.size();
  for (const auto& f : finished) size += f.size() + 1;

  constexpr std::size_t kKeepUpTo = 1024 * 1024;  // never shrink below this: small ledgers reuse one buffer
  if (scratch.size() < size || (scratch.size() > kKeepUpTo && scratch.size() / 4 > size)) {
    scratch = crypto::SecureBuffer(std::max(size + size / 2, std::min(kKeepUpTo, std::size_t{64 * 1024})));
  }
  std::size_t offset = 0;
  put(scratch, offset, head);
  for (std::size_t i = 0; i < pending.size(); ++i) {
    if (i != 0) put(scratch, offset, std::string_view(","));
    put(scratch, offset, pending[i].json);
  }
  put(scratch, offset, kMiddle);
  put_joined(scratch, offset, finished);
  put(scratch, offset, kTail);
  if (ledger_key) put(scratch, offset, ledger_key->span());
  for (const auto& p : pending) put(scratch, offset, p.value);
  return scratch.span().first(offset);  // the separators were counted generously
}

enum class Kind { kSnapshot, kJournalFrame };

// The bookkeeping line's header fields; a snapshot's ledger key is taken from the front of tail. Throws
// json::exception on a missing or mistyped field.
Result<void> parse_header(const json& doc, Kind kind, std::span<const std::uint8_t>& tail,
                          Contents& contents) {
  if (kind == Kind::kSnapshot) {
    if (!doc.is_object() || doc.value("format", "") != kFormat) return corrupt("not a ledger");
    const int version = doc.at("version").get<int>();
    if (version != 1 && version != kVersion) return corrupt("unsupported version");
    if (version != 1) contents.generation = doc.at("generation").get<std::uint64_t>();

    if (tail.size() < claim_token::kKeySize) return corrupt("ledger key missing");
    contents.ledger_key = crypto::SecureBuffer::copy_of(tail.first(claim_token::kKeySize));
    tail = tail.subspan(claim_token::kKeySize);
    return {};
  }
  if (!doc.is_object() || doc.value("format", "") != kJournalFormat) return corrupt("not a journal frame");
  if (doc.at("version").get<int>() != kJournalVersion) return corrupt("unsupported journal version");
  contents.generation = doc.at("generation").get<std::uint64_t>();
  return {};
}

// The pending records, each value taken in order from the front of tail. Throws json::exception.
Result<void> parse_pending(const json& doc, std::unordered_set<std::string>& seen_ids,
                           std::span<const std::uint8_t>& tail, Contents& contents) {
  for (const json& record : doc.at("pending")) {
    auto common = parse_common(record, seen_ids);
    if (!common) return std::move(common).error();
    PendingRecord pending{std::move(common->id),
                          std::move(common->project),
                          common->created_at,
                          common->expires_at,
                          {},
                          record.at("from_base64").get<bool>(),
                          record.at("value_size").get<std::size_t>()};
    if (!claim_token::hash_from_hex(record.at("token_hash").get<std::string>(), pending.token_hash)) {
      return corrupt("malformed token hash in " + pending.id);
    }
    if (pending.value_size == 0 || pending.value_size > tail.size()) {
      return corrupt("value size out of range in " + pending.id);
    }
    auto value = crypto::SecureBuffer::copy_of(tail.first(pending.value_size));
    tail = tail.subspan(pending.value_size);
    contents.pending.emplace_back(std::move(pending), std::move(value));
  }
  return {};
}

// The finished records (tombstones). Throws json::exception.
Result<void> parse_finished(const json& doc, std::unordered_set<std::string>& seen_ids, Contents& contents) {
  for (const json& record : doc.at("finished")) {
    auto common = parse_common(record, seen_ids);
    if (!common) return std::move(common).error();
    const auto state = claim_state_from_string(record.at("state").get<std::string>());
    if (!state || *state == ClaimState::kPending) return corrupt("bad state in " + common->id);
    contents.finished.push_back(ClaimInfo{std::move(common->id), std::move(common->project),
                                          common->created_at, common->expires_at,
                                          time_field(record, "finished_at"), *state});
  }
  return {};
}

Result<Contents> parse_document(std::span<const std::uint8_t> plaintext, Kind kind) {
  const auto newline = std::find(plaintext.begin(), plaintext.end(), std::uint8_t{'\n'});
  if (newline == plaintext.end()) return corrupt("no bookkeeping line");
  const auto line_size = static_cast<std::size_t>(newline - plaintext.begin());
  const std::span<const std::uint8_t> line = plaintext.first(line_size);
  std::span<const std::uint8_t> tail = plaintext.subspan(line_size + 1);

  Contents contents;
  try {
    const json doc = json::parse(line.begin(), line.end());
    if (auto header = parse_header(doc, kind, tail, contents); !header) return std::move(header).error();
    std::unordered_set<std::string> seen_ids;
    if (auto pending = parse_pending(doc, seen_ids, tail, contents); !pending)
      return std::move(pending).error();
    if (!tail.empty()) return corrupt("trailing bytes after the last value");
    if (auto finished = parse_finished(doc, seen_ids, contents); !finished)
      return std::move(finished).error();
  } catch (const json::exception& e) {
    // nlohmann's messages name the field and the position; the line they describe holds no secret.
    return corrupt(e.what());
  }
  return contents;
}

}  // namespace

std::span<const std::uint8_t> assemble(const crypto::SecureBuffer& ledger_key, std::uint64_t generation,
                                       std::span<const PendingView> pending,
                                       std::span<const std::string_view> finished,
                                       crypto::SecureBuffer& scratch) {
  return assemble_document(kFormat, kVersion, generation, &ledger_key, pending, finished, scratch);
}

std::span<const std::uint8_t> assemble_journal_frame(std::uint64_t generation,
                                                     std::span<const PendingView> pending,
                                                     std::span<const std::string_view> finished,
                                                     crypto::SecureBuffer& scratch) {
  return assemble_document(kJournalFormat, kJournalVersion, generation, nullptr, pending, finished, scratch);
}

Result<Contents> parse(std::span<const std::uint8_t> plaintext) {
  return parse_document(plaintext, Kind::kSnapshot);
}

Result<Contents> parse_journal_frame(std::span<const std::uint8_t> plaintext) {
  return parse_document(plaintext, Kind::kJournalFrame);
}

}  // namespace remo::core::claim_ledger_file
