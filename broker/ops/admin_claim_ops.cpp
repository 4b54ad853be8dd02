// The admin socket's one-shot secret ops:
//   {"op":"claim-create","project":P,"value":V | "value_b64":B,"ttl_seconds":N}
//       -> {"ok":true,"claim_id":...,"expires_at":...,"token":"rbc_..."}  (the token: once, here only)
//   {"op":"claim-list"}  ->
//   {"ok":true,"claims":[{claim_id,project,state,created_at,expires_at[,finished_at]}]}
//   {"op":"claim-revoke","claim_id":ID}  -> {"ok":true}
// validate -> authorize (the project is registered) -> act (create and revoke on a claim worker: the ledger
// replies once durable) -> audit -> reply. The value is copied into secure memory and wiped from the
// request; the token goes from secure memory straight into the reply buffer.
#include <sodium.h>
#include <spdlog/spdlog.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "broker/core/claim_token.hpp"
#include "broker/core/manifest.hpp"
#include "broker/core/timestamp.hpp"
#include "broker/crypto/base64.hpp"
#include "broker/ops/admin_ops.hpp"
#include "broker/ops/audit_events.hpp"
#include "broker/ops/reply.hpp"
#include "protocol/codes.hpp"

namespace remo::server {
namespace {

namespace code = protocol::code;
using core::ClaimLedger;

std::string rfc3339(std::chrono::sys_seconds when) { return core::format_rfc3339_utc(when); }

Error ledger_unavailable(const BrokerState& broker) {
  return Error{std::string(code::kInternalError),
               "one-shot secrets are unavailable: " +
                   broker.claims_error.value_or("the broker could not open its ledger")};
}

// The value of a claim-create request, in secure memory: exactly one of value (text) and value_b64 (bytes,
// standard base64 with padding).
Result<std::pair<crypto::SecureBuffer, bool>> one_shot_value(const Request& request) {
  const Json& body = request.body;
  const bool has_text = body.contains("value");
  const bool has_bytes = body.contains("value_b64");
  if (has_text == has_bytes) {
    return protocol_error(has_text ? "give either field 'value' or field 'value_b64', not both"
                                   : "field 'value' or field 'value_b64' is required");
  }
  if (has_text) {
    const auto text = string_field(request, "value");
    if (!text) return text.error();
    return std::pair{crypto::SecureBuffer::copy_of(*text), false};
  }
  const auto encoded = string_field(request, "value_b64");
  if (!encoded) return encoded.error();
  auto bytes = crypto::base64::decode(*encoded, crypto::base64::Padding::kRequired);
  if (!bytes) return protocol_error("field 'value_b64' is not valid base64 (standard alphabet, padded)");
  auto value = crypto::SecureBuffer::copy_of(std::span<const std::uint8_t>(*bytes));
  sodium_memzero(bytes->data(), bytes->size());
  return std::pair{std::move(value), true};
}

Result<std::int64_t> ttl_field(const Request& request) {
  const auto field = request.body.find("ttl_seconds");
  if (field == request.body.end()) return protocol_error("field 'ttl_seconds' is required");
  const std::string range = "between " + std::to_string(ClaimLedger::kMinTtlSeconds) + " and " +
                            std::to_string(ClaimLedger::kMaxTtlSeconds);
  if (!field->is_number_integer()) return protocol_error("field 'ttl_seconds' must be an integer " + range);
  // The parser keeps every non-negative integer as unsigned: a signed one is negative.
  const bool in_range =
      field->is_number_unsigned() &&
      field->get<std::uint64_t>() >= static_cast<std::uint64_t>(ClaimLedger::kMinTtlSeconds) &&
      field->get<std::uint64_t>() <= static_cast<std::uint64_t>(ClaimLedger::kMaxTtlSeconds);
  if (!in_range) return protocol_error("field 'ttl_seconds' must be " + range);
  return static_cast<std::int64_t>(field->get<std::uint64_t>());
}

}  // namespace

void AdminOps::claim_create(Request request, const PeerCredentials& peer, Answers& out) {
  const auto started = audit::Clock::now();
  auto held = std::make_shared<RequestWithSecrets>(std::move(request),
                                                   std::vector<std::string>{"value", "value_b64"});
  const Request& req = held->get();
  if (auto fields = expect_only_fields(req, {"project", "value", "value_b64", "ttl_seconds"}); !fields) {
    return append_error(out.replies, req.id, fields.error());
  }
  const auto project = string_field(req, "project");
  if (!project) return append_error(out.replies, req.id, project.error());
  if (!core::is_valid_project_name(*project)) {
    return append_error(
        out.replies, req.id,
        protocol_error("field 'project' must be a project name (^[a-z0-9][a-z0-9_-]{0,63}$)"));
  }
  const auto ttl = ttl_field(req);
  if (!ttl) return append_error(out.replies, req.id, ttl.error());
  auto value = one_shot_value(req);
  if (!value) return append_error(out.replies, req.id, value.error());
  if (value->first.empty())
    return append_error(out.replies, req.id, protocol_error("a one-shot secret cannot be empty"));
  if (value->first.size() > ClaimLedger::kMaxValueBytes) {
    return append_error(out.replies, req.id,
                        protocol_error("a one-shot secret is limited to " +
                                       std::to_string(ClaimLedger::kMaxValueBytes) + " bytes"));
  }

  auto event = audit::begin(audit::kClaimCreate, peer);
  event["project"] = std::string(*project);
  event["ttl_seconds"] = *ttl;
  if (!projects_.projects().contains(std::string(*project))) {
    const Error unknown{std::string(code::kProjectUnknown),
                        "project " + std::string(*project) + " is not registered"};
    audit::add(out.audit_events, std::move(event), audit::kDeny, unknown.code, started);
    return append_error(out.replies, req.id, unknown);
  }
  if (!broker_.claims) {
    const Error unavailable = ledger_unavailable(broker_);
    audit::add(out.audit_events, std::move(event), audit::kAllow, unavailable.code, started);
    return append_error(out.replies, req.id, unavailable);
  }
  // The value is in secure memory now: wipe the request's copy before the wait.
  wipe_string_field(const_cast<Request&>(req), "value");      // NOLINT: held owns the request; only wiping
  wipe_string_field(const_cast<Request&>(req), "value_b64");  // NOLINT
  auto secret = std::make_shared<std::pair<crypto::SecureBuffer, bool>>(std::move(*value));
  out.blocking = BlockingWork{
      claim_executor_,
      [this, held = std::move(held), secret = std::move(secret), project = std::string(*project), ttl = *ttl,
       event = std::move(event), started](Answers& answers) mutable {
        const Request& held_request = held->get();
        auto ticket = broker_.claims->create(project, std::move(secret->first), secret->second, ttl);
        if (!ticket) {
          audit::add(answers.audit_events, std::move(event), audit::kAllow, ticket.error().code, started);
          return append_error(answers.replies, held_request.id, ticket.error());
        }
        event["claim_id"] = ticket->id;
        audit::add(answers.audit_events, std::move(event), audit::kAllow, audit::kOk, started);
        append_ok_with_secret_field(
            answers.replies, held_request.id,
            Json{{"claim_id", ticket->id}, {"expires_at", rfc3339(ticket->expires_at)}}, "token",
            ticket->token.view());
      }};
}

void AdminOps::claim_list(const Request& request, const PeerCredentials& /*peer*/, Answers& out) {
  if (auto fields = expect_only_fields(request, {}); !fields)
    return append_error(out.replies, request.id, fields.error());
  if (!broker_.claims) return append_error(out.replies, request.id, ledger_unavailable(broker_));
  Json claims = Json::array();
  for (const core::ClaimInfo& info : broker_.claims->list()) {
    Json row{{"claim_id", info.id},
             {"project", info.project},
             {"state", core::to_string(info.state)},
             {"created_at", rfc3339(info.created_at)},
             {"expires_at", rfc3339(info.expires_at)}};
    if (info.finished_at) row["finished_at"] = rfc3339(*info.finished_at);
    claims.push_back(std::move(row));
  }
  append_ok(out.replies, request.id, Json{{"claims", std::move(claims)}});
}

void AdminOps::claim_revoke(const Request& request, const PeerCredentials& peer, Answers& out) {
  const auto started = audit::Clock::now();
  if (auto fields = expect_only_fields(request, {"claim_id"}); !fields)
    return append_error(out.replies, request.id, fields.error());
  const auto id = string_field(request, "claim_id");
  if (!id) return append_error(out.replies, request.id, id.error());
  if (!core::claim_token::looks_like_id(*id)) {
    return append_error(out.replies, request.id,
                        protocol_error("field 'claim_id' is not a claim id (16 lowercase hex digits)"));
  }
  auto event = audit::begin(audit::kClaimRevoke, peer);
  event["claim_id"] = std::string(*id);
  if (!broker_.claims) {
    const Error unavailable = ledger_unavailable(broker_);
    audit::add(out.audit_events, std::move(event), audit::kAllow, unavailable.code, started);
    return append_error(out.replies, request.id, unavailable);
  }
  // The project, for the audit line (a revoked claim stays listed as a tombstone).
  for (const core::ClaimInfo& info : broker_.claims->list()) {
    if (info.id == *id) event["project"] = info.project;
  }
  out.blocking = BlockingWork{
      claim_executor_, [this, request_id = request.id, id = std::string(*id), event = std::move(event),
                        started](Answers& answers) mutable {
        auto revoked = broker_.claims->revoke(id);
        const std::string_view outcome = revoked ? audit::kOk : std::string_view(revoked.error().code);
        audit::add(answers.audit_events, std::move(event), audit::kAllow, outcome, started);
        if (!revoked) return append_error(answers.replies, request_id, revoked.error());
        append_ok(answers.replies, request_id);
      }};
}

}  // namespace remo::server
