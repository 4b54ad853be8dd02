// The admin op rotate-bootstrap: validate → authorize → act (key_rotation.hpp) → audit → reply.
//   {"op":"rotate-bootstrap"[,"identity":"AGE-SECRET-KEY-1..."]}  begin (or take the new key back)
//   {"op":"rotate-bootstrap","confirm":true,"recipient":"age1..."}  confirm
// A generated identity is the one secret an admin reply carries: it is written into the reply buffer
// straight from secure memory, only for uid 0, and appears in no log or audit line.
#include <sodium.h>
#include <spdlog/spdlog.h>

#include <optional>
#include <string>
#include <utility>

#include "broker/lifecycle/key_rotation.hpp"
#include "broker/ops/admin_ops.hpp"
#include "broker/transport/audit_events.hpp"
#include "broker/transport/reply.hpp"
#include "protocol/codes.hpp"
#include "protocol/requests.hpp"

namespace remo::server {
namespace {

// {"ok":true[,"id":ID],"recipient":...,"pending":true,"identity":"AGE-SECRET-KEY-1..."}: the reply is
// written as usual, then its closing brace is reopened for the identity (bech32: no escaping needed).
void append_ok_with_identity(ReplyBuffer& out, const Json& id, Json fields,
                             const crypto::SecureBuffer& identity) {
  append_ok(out, id, std::move(fields));
  out.resize(out.size() - 2);  // "}\n"
  out.append(",\"identity\":\"");
  out.append(identity.view());
  out.append("\"}\n");
}

// A rotation step that failed after validation: audited with its code, then answered.
void fail(nlohmann::json event, audit::Clock::time_point started, const Json& id, const Error& error,
          Answers& out) {
  audit::add(out.audit_events, std::move(event), audit::kAllow, error.code, started);
  append_error(out.replies, id, error);
}

}  // namespace

void AdminOps::rotate_bootstrap(const Request& request, protocol::RotateBootstrapRequest typed,
                                const PeerCredentials& peer, Answers& out) {
  const auto started = audit::Clock::now();
  auto event = audit::begin(audit::kBootstrapRotate, peer);
  event["phase"] = typed.confirm ? "confirm" : "begin";

  if (typed.confirm) {
    const crypto::X25519Recipient& recipient = *typed.recipient;
    event["new_recipient"] = recipient.encode();
    if (auto confirmed = confirm_rotation(broker_, recipient); !confirmed) {
      spdlog::error("rotate-bootstrap: not confirmed: {}", confirmed.error().message);
      return fail(std::move(event), started, request.id, confirmed.error(), out);
    }
    if (changed_) changed_();
    audit::add(out.audit_events, std::move(event), audit::kAllow, audit::kOk, started);
    return append_ok(out.replies, request.id, Json{{"recipient", broker_.recipient}, {"pending", false}});
  }
  if (!typed.identity && peer.uid != 0) {
    // The generated key is handed out once; only root may receive it.
    return append_error(
        out.replies, request.id,
        protocol_error("a generated identity is only returned to root; pass 'identity' instead"));
  }
  auto begun = begin_rotation(broker_, std::move(typed.identity));
  if (!begun) {
    spdlog::error("rotate-bootstrap: not started: {}", begun.error().message);
    return fail(std::move(event), started, request.id, begun.error(), out);
  }
  event["old_recipient"] = begun->old_recipient.encode();
  event["new_recipient"] = begun->new_recipient.encode();
  event["generated"] = begun->generated_identity.has_value();
  if (changed_) changed_();
  audit::add(out.audit_events, std::move(event), audit::kAllow, audit::kOk, started);
  Json fields{{"recipient", begun->new_recipient.encode()}, {"pending", true}};
  if (begun->generated_identity) {
    return append_ok_with_identity(out.replies, request.id, std::move(fields), *begun->generated_identity);
  }
  append_ok(out.replies, request.id, std::move(fields));
}

}  // namespace remo::server
