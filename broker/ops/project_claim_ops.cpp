// The project socket's one-shot secret ops:
//   {"op":"claim","token":"rbc_..."}   -> {"ok":true,"value":"..."} or {"ok":true,"value_b64":"..."}
//   {"op":"delete","token":"rbc_..."}  -> {"ok":true}
// data-plane gate -> validate -> act on a claim worker (the ledger replies once durable) -> audit -> reply.
// Every reason a well-formed token does not work is the same not_found, so a container cannot tell a
// claimed token from one of another project or one that never existed. The token is wiped from the
// request once the op is done; the value goes from secure memory straight into the reply buffer.
#include <memory>
#include <string>
#include <utility>

#include "broker/core/claim_token.hpp"
#include "broker/ops/project_ops.hpp"
#include "broker/transport/audit_events.hpp"
#include "broker/transport/reply.hpp"
#include "protocol/codes.hpp"
#include "protocol/requests.hpp"

namespace remo::server {
namespace {

namespace code = protocol::code;
namespace field = protocol::field;

}  // namespace

void ProjectOps::one_shot(Request request, const PeerCredentials& peer, Answers& out) const {
  const auto started = audit::Clock::now();
  const bool is_claim = request.op == protocol::op::kClaim;
  auto held = std::make_shared<RequestWithSecrets>(std::move(request),
                                                   std::vector<std::string>{std::string(field::kToken)});
  const Request& req = held->get();
  // The kill switch and the rate limit come first; a refusal wipes the token with `held`.
  if (!gate_.admit(req, peer, is_claim ? audit::kClaimClaim : audit::kClaimDelete, out)) return;
  if (auto valid = protocol::TokenRequest::parse(req); !valid)
    return append_error(out.replies, req.id, valid.error());

  auto event = audit::begin(is_claim ? audit::kClaimClaim : audit::kClaimDelete, peer);
  event["project"] = project_->name();
  if (claims_.ledger == nullptr) {
    audit::add(out.audit_events, std::move(event), audit::kAllow, code::kInternalError, started);
    return append_error(out.replies, req.id, code::kInternalError,
                        "one-shot secrets are unavailable: the broker could not open its ledger (its status "
                        "says why)");
  }
  out.blocking = BlockingWork{
      claims_.executor,
      [this, held = std::move(held), event = std::move(event), started, is_claim](Answers& answers) mutable {
        const Request& held_request = held->get();
        const std::string_view token = held_request.body.at(field::kToken).get_ref<const std::string&>();
        std::string claim_id;
        Result<void> done;
        if (is_claim) {
          auto value = claims_.ledger->claim(project_->name(), token, &claim_id);
          if (value) {
            done = append_claimed_value(answers.replies, held_request.id, *value);
          } else {
            done = std::move(value).error();
          }
        } else {
          done = claims_.ledger->discard(project_->name(), token, &claim_id);
          if (done) append_ok(answers.replies, held_request.id);
        }
        if (!claim_id.empty()) event["claim_id"] = claim_id;
        const std::string_view outcome = done ? audit::kOk : std::string_view(done.error().code);
        audit::add(answers.audit_events, std::move(event), audit::kAllow, outcome, started);
        if (!done) append_error(answers.replies, held_request.id, done.error());
      }};
}

}  // namespace remo::server
