#include "broker/ops/project_ops.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include "broker/ops/unsupported_ops.hpp"
#include "broker/transport/audit_events.hpp"
#include "broker/transport/reply.hpp"
#include "protocol/codes.hpp"
#include "protocol/requests.hpp"

namespace remo::server {

namespace code = protocol::code;

ProjectOps::ProjectOps(std::shared_ptr<const ProjectState> project, std::vector<uid_t> allowed_uids,
                       const core::SecretStore& store, DataPlaneGate gate, ClaimPlane claims)
    : project_(std::move(project)),
      allowed_uids_(std::move(allowed_uids)),
      store_(store),
      gate_(std::move(gate)),
      claims_(std::move(claims)) {}

bool ProjectOps::admit(const PeerCredentials& peer, Answers& out) {
  if (allowed_uids_.empty() ||
      std::find(allowed_uids_.begin(), allowed_uids_.end(), peer.uid) != allowed_uids_.end()) {
    return true;
  }
  auto event = audit::begin(audit::kPeerRejected, peer);
  event["project"] = project_->name();
  audit::add(out.audit_events, std::move(event), audit::kDeny, code::kPeerUnexpected, audit::Clock::now());
  return false;
}

// Every line is charged (see DataPlaneGate): each op passes its gate first, a line that is no op is
// charged before its error is written.
void ProjectOps::handle(std::string_view line, const PeerCredentials& peer, Answers& out) {
  Request request;
  if (auto parsed = parse_request(line, request); !parsed)
    return refuse_invalid(request, peer, parsed.error(), out);
  if (request.op == protocol::op::kGet) return get(request, peer, out);
  if (request.op == protocol::op::kPing) return ping(request, peer, out);
  if (request.op == protocol::op::kInfo) return info(request, peer, out);
  if (request.op == protocol::op::kClaim || request.op == protocol::op::kDelete) {
    return one_shot(std::move(request), peer, out);
  }
  refuse_invalid(request, peer, unknown_op_error(request.op, kLaterProjectOps), out);
}

void ProjectOps::line_too_long(const PeerCredentials& peer, Answers& out) {
  gate_.charge_overlong(peer, out);
}

void ProjectOps::blank_line(const PeerCredentials& peer, Answers& out) { gate_.charge_blank(peer, out); }

// A line that is no op: charged, audited (grouped with the other refusals) and answered with its error.
void ProjectOps::refuse_invalid(const Request& request, const PeerCredentials& peer, const Error& error,
                                Answers& out) const {
  const auto started = audit::Clock::now();
  if (!gate_.charge(request, peer, audit::kRequestInvalid, out)) return;
  auto event = audit::begin(audit::kRequestInvalid, peer);
  event["project"] = project_->name();
  audit::add(out.audit_events, std::move(event), audit::kDeny, error.code, started);
  append_error(out.replies, request.id, error);
}

void ProjectOps::ping(const Request& request, const PeerCredentials& peer, Answers& out) const {
  if (!gate_.admit_ping(request, peer, out)) return;
  if (auto typed = protocol::PingRequest::parse(request); !typed)
    return append_error(out.replies, request.id, typed.error());
  append_ok(out.replies, request.id,
            Json{{"broker_version", REMO_BROKER_VERSION},
                 {"protocol_version", protocol::kProtocolVersion},
                 {"project", project_->name()}});
}

void ProjectOps::info(const Request& request, const PeerCredentials& peer, Answers& out) const {
  if (!gate_.admit(request, peer, audit::kProjectInfo, out)) return;
  if (auto typed = protocol::InfoRequest::parse(request); !typed)
    return append_error(out.replies, request.id, typed.error());
  append_ok(out.replies, request.id,
            Json{{"project", project_->name()},
                 {"allowlist", project_->policy()->allowlist},
                 {"schema_version", protocol::kManifestSchemaVersion}});
}

// gate (lock, rate) -> validate -> authorize (allowlist, before any lookup) -> look up -> audit -> reply
void ProjectOps::get(const Request& request, const PeerCredentials& peer, Answers& out) const {
  const auto started = audit::Clock::now();
  if (!gate_.admit(request, peer, audit::kSecretGet, out)) return;
  const auto typed = protocol::GetRequest::parse(request);
  if (!typed) return append_error(out.replies, request.id, typed.error());
  const std::string secret(typed->name);
  const auto audited = [&](std::string_view decision, std::string_view outcome) {
    audit::add_get_line(out.audit_lines, peer, project_->name(), secret, decision, outcome, started);
  };

  const auto policy = project_->policy();
  if (!policy->allows(secret)) {  // a refusal: a JSON event, so the audit log can group a flood of them
    auto event = audit::begin(audit::kSecretGet, peer);
    event["project"] = project_->name();
    event["secret"] = secret;
    audit::add(out.audit_events, std::move(event), audit::kDeny, code::kDenied, started);
    std::string message = "secret " + secret + " is not in the allowlist of project " + project_->name();
    if (policy->error) message += " (its manifest could not be loaded; the broker's status says why)";
    return append_error(out.replies, request.id, code::kDenied, message);
  }
  const auto snapshot = store_.snapshot();
  const core::SecretEntry* value = snapshot->secrets->find(secret);
  if (value == nullptr) {
    audited(audit::kAllow, code::kNotFound);
    return append_error(out.replies, request.id, code::kNotFound,
                        "secret " + secret + " is allowed but not loaded");
  }
  if (auto written = append_secret_value(out.replies, request.id, secret, *value, policy->ttl_seconds);
      !written) {
    audited(audit::kAllow, written.error().code);
    return append_error(out.replies, request.id, written.error());
  }
  audited(audit::kAllow, audit::kOk);
}

}  // namespace remo::server
