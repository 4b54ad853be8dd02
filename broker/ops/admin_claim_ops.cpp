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
#include "broker/transport/audit_events.hpp"
#include "broker/transport/reply.hpp"
#include "protocol/codes.hpp"
#include "protocol/requests.hpp"

namespace remo::server {
namespace {

namespace code = protocol::code;
namespace field = protocol::field;
using core::ClaimLedger;

std::string rfc3339(std::chrono::sys_seconds when) { return core::format_rfc3339_utc(when); }

Error ledger_unavailable(const BrokerState& broker) {
  return Error{std::string(code::kInternalError),
               "one-shot secrets are unavailable: " +
                   broker.claims_error.value_or("the broker could not open its ledger")};
}

}  // namespace

void AdminOps::claim_create(Request request, const PeerCredentials& peer, Answers& out) {
  const auto started = audit::Clock::now();
  auto held = std::make_shared<RequestWithSecrets>(
      std::move(request),
      std::vector<std::string>{std::string(field::kValue), std::string(field::kValueB64)});
  const Request& req = held->get();
  auto typed = protocol::ClaimCreateRequest::parse(req);
  if (!typed) return append_error(out.replies, req.id, typed.error());
  const std::string project(typed->project);
  const std::int64_t ttl = typed->ttl_seconds;

  auto event = audit::begin(audit::kClaimCreate, peer);
  event["project"] = project;
  event["ttl_seconds"] = ttl;
  if (!projects_.projects().contains(project)) {
    const Error unknown{std::string(code::kProjectUnknown), "project " + project + " is not registered"};
    audit::add(out.audit_events, std::move(event), audit::kDeny, unknown.code, started);
    return append_error(out.replies, req.id, unknown);
  }
  if (!broker_.claims) {
    const Error unavailable = ledger_unavailable(broker_);
    audit::add(out.audit_events, std::move(event), audit::kAllow, unavailable.code, started);
    return append_error(out.replies, req.id, unavailable);
  }
  // The value is in secure memory now: wipe the request's copy before the wait.
  wipe_string_field(const_cast<Request&>(req), field::kValue);  // NOLINT: held owns the request; only wiping
  wipe_string_field(const_cast<Request&>(req), field::kValueB64);  // NOLINT
  auto secret =
      std::make_shared<std::pair<crypto::SecureBuffer, bool>>(std::move(typed->value), typed->from_base64);
  out.blocking = BlockingWork{
      claim_executor_, [this, held = std::move(held), secret = std::move(secret), project, ttl,
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

void AdminOps::claim_list(const Request& request, protocol::ClaimListRequest /*typed*/,
                          const PeerCredentials& /*peer*/, Answers& out) {
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

void AdminOps::claim_revoke(const Request& request, protocol::ClaimRevokeRequest typed,
                            const PeerCredentials& peer, Answers& out) {
  const auto started = audit::Clock::now();
  const std::string id(typed.claim_id);
  auto event = audit::begin(audit::kClaimRevoke, peer);
  event["claim_id"] = id;
  if (!broker_.claims) {
    const Error unavailable = ledger_unavailable(broker_);
    audit::add(out.audit_events, std::move(event), audit::kAllow, unavailable.code, started);
    return append_error(out.replies, request.id, unavailable);
  }
  // The project, for the audit line (a revoked claim stays listed as a tombstone).
  for (const core::ClaimInfo& info : broker_.claims->list()) {
    if (info.id == id) event["project"] = info.project;
  }
  out.blocking = BlockingWork{
      claim_executor_,
      [this, request_id = request.id, id, event = std::move(event), started](Answers& answers) mutable {
        auto revoked = broker_.claims->revoke(id);
        const std::string_view outcome = revoked ? audit::kOk : std::string_view(revoked.error().code);
        audit::add(answers.audit_events, std::move(event), audit::kAllow, outcome, started);
        if (!revoked) return append_error(answers.replies, request_id, revoked.error());
        append_ok(answers.replies, request_id);
      }};
}

}  // namespace remo::server
