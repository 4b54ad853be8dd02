#include "broker/ops/admin_ops.hpp"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "broker/core/approved_policy.hpp"
#include "broker/core/claim_ledger.hpp"
#include "broker/core/manifest.hpp"
#include "broker/core/state_file.hpp"
#include "broker/core/timestamp.hpp"
#include "broker/lifecycle/bundle.hpp"
#include "broker/lifecycle/bundle_signature.hpp"
#include "broker/lifecycle/key_rotation.hpp"
#include "broker/ops/admin_lock_ops.hpp"
#include "broker/ops/audit_status.hpp"
#include "broker/ops/data_plane_gate.hpp"
#include "broker/ops/unsupported_ops.hpp"
#include "broker/transport/audit_events.hpp"
#include "broker/transport/reply.hpp"
#include "protocol/codes.hpp"
#include "protocol/requests.hpp"

namespace remo::server {
namespace {

namespace code = protocol::code;

std::string sha256_hex(const std::vector<std::uint8_t>& bytes) {
  std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256(digest.data(), bytes.data(), bytes.size());
  std::array<char, crypto_hash_sha256_BYTES * 2 + 1> hex{};
  sodium_bin2hex(hex.data(), hex.size(), digest.data(), digest.size());
  return std::string(hex.data(), crypto_hash_sha256_BYTES * 2);
}

// A project as status shows it: who may reach it and the policy it serves (the approved one).
Json project_status(const RegisteredProject& project) {
  const core::Registration& registration = project.registration;
  Json entry{
      {"name", registration.name},
      {"socket_path", project.socket_path.string()},
      {"project_path", registration.project_path.string()},
      {"uids", registration.uids},
      {"gid", registration.gid ? Json(*registration.gid) : Json(nullptr)},
      {"allowlist_size", project.state->policy()->allowlist.size()},
      {"manifest_sha256", registration.policy ? Json(registration.policy->manifest_sha256) : Json(nullptr)}};
  if (auto error = project.error()) entry["error"] = *error;
  return entry;
}

// Revokes every pending one-shot secret of a project, each audited as claim.revoke with "reason", so that
// no later registration of the same name can claim them. Runs on the control plane and waits for each
// revocation to be durable (as register and unregister wait for registrations.json). Stops at the first
// that fails: the caller then changes nothing else.
Result<void> revoke_pending_claims(core::ClaimLedger* claims, std::string_view project,
                                   std::string_view reason, const PeerCredentials& peer, Answers& out) {
  if (claims == nullptr) return {};  // the ledger could not be opened: register revokes what is left later
  for (const core::ClaimInfo& info : claims->list()) {
    if (info.project != project || info.state != core::ClaimState::kPending) continue;
    const auto started = audit::Clock::now();
    auto event = audit::begin(audit::kClaimRevoke, peer);
    event["claim_id"] = info.id;
    event["project"] = info.project;
    event["reason"] = reason;
    auto revoked = claims->revoke(info.id);
    const std::string_view outcome = revoked ? audit::kOk : std::string_view(revoked.error().code);
    audit::add(out.audit_events, std::move(event), audit::kAllow, outcome, started);
    if (!revoked) {
      return Error{std::string(code::kInternalError),
                   "a pending one-shot secret of project " + std::string(project) +
                       " could not be revoked, nothing else changed: " + revoked.error().message};
    }
  }
  return {};
}

std::optional<std::string> owned(std::optional<std::string_view> text) {
  return text ? std::optional<std::string>(*text) : std::nullopt;
}

// An admin change that failed after validation: audited with its code, then answered.
void fail(nlohmann::json event, audit::Clock::time_point started, const Json& id, const Error& error,
          Answers& out) {
  audit::add(out.audit_events, std::move(event), audit::kAllow, error.code, started);
  append_error(out.replies, id, error);
}

}  // namespace

AdminOps::AdminOps(BrokerState& broker, ProjectRegistry& projects, std::function<void()> changed,
                   asio::any_io_executor claim_executor)
    : broker_(broker),
      projects_(projects),
      changed_(std::move(changed)),
      claim_executor_(std::move(claim_executor)) {}

bool AdminOps::admit(const PeerCredentials& peer, Answers& out) {
  if (is_admin_peer(peer, broker_.broker_uid)) return true;
  auto event = audit::begin(audit::kPeerRejected, peer);
  event["socket"] = "admin";
  audit::add(out.audit_events, std::move(event), audit::kDeny, code::kPeerUnexpected, audit::Clock::now());
  return false;
}

template <class Typed, void (AdminOps::*Handler)(const Request&, Typed, const PeerCredentials&, Answers&)>
void AdminOps::typed(const Request& request, const PeerCredentials& peer, Answers& out) {
  auto parsed = Typed::parse(request);
  if (!parsed) return append_error(out.replies, request.id, parsed.error());
  (this->*Handler)(request, std::move(*parsed), peer, out);
}

// Every admin op changes (or reads) the broker's state on the control plane: its events are durable before
// its reply leaves.
void AdminOps::handle(std::string_view line, const PeerCredentials& peer, Answers& out) {
  out.durable = true;
  static constexpr std::array<std::pair<std::string_view, Op>, 13> kOps = {{
      {protocol::StatusRequest::kOp, &AdminOps::typed<protocol::StatusRequest, &AdminOps::status>},
      {protocol::GetPublicKeyRequest::kOp,
       &AdminOps::typed<protocol::GetPublicKeyRequest, &AdminOps::get_public_key>},
      {protocol::PushCredsRequest::kOp, &AdminOps::typed<protocol::PushCredsRequest, &AdminOps::push_creds>},
      {protocol::ClearCredsRequest::kOp,
       &AdminOps::typed<protocol::ClearCredsRequest, &AdminOps::clear_creds>},
      {protocol::RegisterRequest::kOp,
       &AdminOps::typed<protocol::RegisterRequest, &AdminOps::register_project>},
      {protocol::UnregisterRequest::kOp,
       &AdminOps::typed<protocol::UnregisterRequest, &AdminOps::unregister_project>},
      {protocol::ReloadRequest::kOp, &AdminOps::typed<protocol::ReloadRequest, &AdminOps::reload_project>},
      {protocol::RotateBootstrapRequest::kOp,
       &AdminOps::typed<protocol::RotateBootstrapRequest, &AdminOps::rotate_bootstrap>},
      {protocol::SecretDigestsRequest::kOp,
       &AdminOps::typed<protocol::SecretDigestsRequest, &AdminOps::secret_digests>},
      {protocol::ClaimListRequest::kOp, &AdminOps::typed<protocol::ClaimListRequest, &AdminOps::claim_list>},
      {protocol::ClaimRevokeRequest::kOp,
       &AdminOps::typed<protocol::ClaimRevokeRequest, &AdminOps::claim_revoke>},
      {protocol::LockRequest::kOp, &AdminOps::typed<protocol::LockRequest, &AdminOps::lock>},
      {protocol::UnlockRequest::kOp, &AdminOps::typed<protocol::UnlockRequest, &AdminOps::unlock>},
  }};

  Request request;
  if (auto parsed = parse_request(line, request); !parsed)
    return append_error(out.replies, request.id, parsed.error());
  if (broker_.audit != nullptr && !broker_.audit->accepting() && admin_op_needs_audit(request.op)) {
    protocol::wipe_strings(request.body);  // a refused rotate-bootstrap, secret-digests or claim-create
    return append_error(out.replies, request.id, code::kInternalError,
                        "the audit log cannot be written; audited admin ops are refused until it can (status "
                        "shows audit.state and audit.error)");
  }
  if (request.op == protocol::op::kClaimCreate) return claim_create(std::move(request), peer, out);
  // secret-digests' key and rotate-bootstrap's identity are wiped from the request however the op ends.
  const RequestWithSecrets held(
      std::move(request), {std::string(protocol::field::kKeyB64), std::string(protocol::field::kIdentity)});
  for (const auto& [name, op] : kOps) {
    if (held.get().op == name) return (this->*op)(held.get(), peer, out);
  }
  append_error(out.replies, held.get().id, unknown_op_error(held.get().op, kLaterAdminOps));
}

void AdminOps::status(const Request& request, protocol::StatusRequest /*typed*/,
                      const PeerCredentials& /*peer*/, Answers& out) {
  Json projects = Json::array();
  for (const auto& [name, project] : projects_.projects()) {  // check_drift changes no entry of this map
    Json entry = project_status(project);
    if (broker_.rate_limiter) entry["rate_limit"] = rate_limits_json(broker_.rate_limiter->limits_for(name));
    const auto drift = projects_.check_drift(name, out.audit_events);
    entry["manifest_drift"] = drift ? Json(to_json(*drift)) : Json(nullptr);
    projects.push_back(std::move(entry));
  }
  const auto snapshot = broker_.store.snapshot();
  const auto uptime = std::chrono::steady_clock::now() - broker_.started_at;
  const std::optional<std::string>& last_error = broker_.bootstrap_error ? broker_.bootstrap_error
                                                 : broker_.bundle_error  ? broker_.bundle_error
                                                 : broker_.claims_error  ? broker_.claims_error
                                                                         : projects_.persistence_error();
  Json rotation = rotation_status(broker_);
  Json lock = lock_status(broker_);
  append_ok(out.replies, request.id,
            Json{{"broker_version", REMO_BROKER_VERSION},
                 {"protocol_version", protocol::kProtocolVersion},
                 {"uptime_seconds", std::chrono::duration_cast<std::chrono::seconds>(uptime).count()},
                 {"secrets_loaded_at",
                  snapshot->loaded_at ? Json(core::format_rfc3339_utc(*snapshot->loaded_at)) : Json(nullptr)},
                 {"secret_count", snapshot->secrets->size()},
                 {"recipient", broker_.recipient},
                 {"decryption_key_source", broker_.decryption_key_source},
                 {"projects", std::move(projects)},
                 {"last_error", last_error ? Json(*last_error) : Json(nullptr)},
                 {"rotation", std::move(rotation["rotation"])},
                 {protocol::reply::kBootstrapError, std::move(rotation[protocol::reply::kBootstrapError])},
                 {"claims_pending", broker_.claims ? Json(broker_.claims->pending_count()) : Json(nullptr)},
                 {protocol::reply::kLocked, std::move(lock[protocol::reply::kLocked])},
                 {"locked_at", std::move(lock["locked_at"])},
                 {"lock_reason", std::move(lock["lock_reason"])},
                 {"lock_error", std::move(lock["lock_error"])},
                 {"rate_limit",
                  broker_.rate_limiter ? rate_limits_json(broker_.rate_limiter->defaults()) : Json(nullptr)},
                 {"signed_pushes_required", broker_.allowed_signers.has_value()},
                 {"audit", broker_.audit != nullptr ? audit_status_json(*broker_.audit) : Json(nullptr)}});
}

void AdminOps::get_public_key(const Request& request, protocol::GetPublicKeyRequest /*typed*/,
                              const PeerCredentials& /*peer*/, Answers& out) {
  append_ok(out.replies, request.id, Json{{"recipient", broker_.recipient}});
}

// Everything that can fail about the bundle is checked before anything changes: decode, decrypt, parse.
// Only then is secrets.enc replaced (atomically) and the in-memory set swapped.
void AdminOps::push_creds(const Request& request, protocol::PushCredsRequest typed,
                          const PeerCredentials& peer, Answers& out) {
  const auto started = audit::Clock::now();
  const std::vector<std::uint8_t>& ciphertext = typed.ciphertext;
  auto event = audit::begin(audit::kCredsPush, peer);
  event["ciphertext_sha256"] = sha256_hex(ciphertext);

  // Before anything else looks at the bundle: only a signed one is decrypted, when signatures are required.
  auto signer = check_bundle_signature(typed.signature, ciphertext, broker_.allowed_signers);
  if (!signer) {
    event["signature_error"] = signer.error().message;
    return fail(std::move(event), started, request.id, signer.error(), out);
  }
  if (*signer) {
    event["signer_fingerprint"] = (*signer)->fingerprint;
    event["signer_principals"] = (*signer)->principal;
  } else if (typed.signature != nullptr) {
    event["signature"] = "ignored (no allowed_signers configured)";
  }
  if (auto allowed = check_push_allowed(broker_); !allowed) {
    return fail(std::move(event), started, request.id, allowed.error(), out);
  }
  auto secrets = open_bundle(ciphertext, broker_.identities);
  if (!secrets) return fail(std::move(event), started, request.id, secrets.error(), out);
  if (auto stored = core::write_file_atomically(broker_.secrets_file, ciphertext, 0600); !stored) {
    spdlog::error("push-creds: the bundle could not be stored, nothing changed: {}", stored.error().message);
    broker_.bundle_error = stored.error().message;
    return fail(std::move(event), started, request.id, stored.error(), out);
  }
  const auto loaded_at = std::chrono::system_clock::now();
  const std::size_t secret_count = secrets->size();
  broker_.store.replace(std::move(*secrets), loaded_at);
  broker_.bundle_error.reset();
  if (*signer) {
    spdlog::info("push-creds: loaded a bundle of {} secrets signed by {}", secret_count,
                 (*signer)->fingerprint);
  } else {
    spdlog::info("push-creds: loaded a bundle of {} secrets", secret_count);
  }
  if (changed_) changed_();

  event["secret_count"] = secret_count;
  audit::add(out.audit_events, std::move(event), audit::kAllow, audit::kOk, started);
  append_ok(out.replies, request.id,
            Json{{"loaded_at", core::format_rfc3339_utc(loaded_at)}, {"secret_count", secret_count}});
}

void AdminOps::clear_creds(const Request& request, protocol::ClearCredsRequest /*typed*/,
                           const PeerCredentials& peer, Answers& out) {
  const auto started = audit::Clock::now();
  auto event = audit::begin(audit::kCredsClear, peer);
  broker_.store.clear();  // the old set is wiped when its last reader lets go
  if (auto shredded = core::shred_file(broker_.secrets_file); !shredded) {
    spdlog::error("clear-creds: secrets wiped from memory, but {}", shredded.error().message);
    broker_.bundle_error = shredded.error().message;
    const Error error{
        std::string(code::kInternalError),
        "secrets wiped from memory, but secrets.enc could not be removed: " + shredded.error().message};
    return fail(std::move(event), started, request.id, error, out);
  }
  broker_.bundle_error.reset();
  spdlog::info("clear-creds: secrets wiped");
  if (changed_) changed_();
  audit::add(out.audit_events, std::move(event), audit::kAllow, audit::kOk, started);
  append_ok(out.replies, request.id);
}

void AdminOps::register_project(const Request& request, protocol::RegisterRequest typed,
                                const PeerCredentials& peer, Answers& out) {
  const auto started = audit::Clock::now();
  const std::string name(typed.name);

  auto event = audit::begin(audit::kProjectRegister, peer);
  event["project"] = name;
  event["project_path"] = typed.project_path.string();
  core::Registration registration{name, typed.project_path, {}, typed.gid, std::nullopt, std::nullopt};
  if (typed.uids) registration.uids.assign(typed.uids->begin(), typed.uids->end());

  if (!projects_.projects().contains(name)) {  // one-shot secrets a former project of this name left behind
    auto revoked = revoke_pending_claims(broker_.claims.get(), name, protocol::op::kRegister, peer, out);
    if (!revoked) return fail(std::move(event), started, request.id, revoked.error(), out);
  }
  const auto added = projects_.add(std::move(registration), owned(typed.expect_manifest_sha256));
  if (!added) return fail(std::move(event), started, request.id, added.error(), out);
  spdlog::info("register: project {} on {}", name, (*added)->socket_path.string());
  if (changed_) changed_();
  event["manifest_sha256"] = (*added)->registration.policy->manifest_sha256;
  event["allowlist"] = (*added)->registration.policy->allowlist;
  audit::add(out.audit_events, std::move(event), audit::kAllow, audit::kOk, started);
  append_ok(out.replies, request.id,
            Json{{"socket_path", (*added)->socket_path.string()},
                 {"allowlist", (*added)->registration.policy->allowlist},
                 {"manifest_sha256", (*added)->registration.policy->manifest_sha256}});
}

void AdminOps::unregister_project(const Request& request, protocol::UnregisterRequest typed,
                                  const PeerCredentials& peer, Answers& out) {
  const auto started = audit::Clock::now();
  const std::string name(typed.name);

  auto event = audit::begin(audit::kProjectUnregister, peer);
  event["project"] = name;
  if (!projects_.projects().contains(name)) {
    return fail(std::move(event), started, request.id,
                Error{std::string(code::kProjectUnknown), "no project named " + name + " is registered"},
                out);
  }
  if (auto revoked = revoke_pending_claims(broker_.claims.get(), name, protocol::op::kUnregister, peer, out);
      !revoked) {
    return fail(std::move(event), started, request.id, revoked.error(), out);
  }
  if (auto removed = projects_.remove(name); !removed) {
    return fail(std::move(event), started, request.id, removed.error(), out);
  }
  spdlog::info("unregister: project {}", name);
  if (changed_) changed_();
  audit::add(out.audit_events, std::move(event), audit::kAllow, audit::kOk, started);
  append_ok(out.replies, request.id);
}

void AdminOps::reload_project(const Request& request, protocol::ReloadRequest typed,
                              const PeerCredentials& peer, Answers& out) {
  const auto started = audit::Clock::now();
  const std::string name(typed.name);
  const bool dry_run = typed.dry_run;

  auto event = audit::begin(audit::kProjectReload, peer);
  event["project"] = name;
  event["dry_run"] = dry_run;
  const auto reloaded =
      projects_.reload(name, dry_run, out.audit_events, owned(typed.expect_manifest_sha256));
  if (!reloaded) return fail(std::move(event), started, request.id, reloaded.error(), out);
  const nlohmann::json diff = core::to_json(reloaded->diff);
  if (dry_run) {
    spdlog::info("reload --dry-run: project {}: {}", name, diff.dump());
  } else {
    spdlog::info("reload: project {} allows {} secrets ({})", name, reloaded->policy->allowlist.size(),
                 diff.dump());
    if (changed_) changed_();
  }
  const Json rate_limit =
      broker_.rate_limiter ? rate_limits_json(broker_.rate_limiter->limits_for(name)) : Json(nullptr);
  event["allowlist_size"] = reloaded->policy->allowlist.size();
  event["rate_limit"] = rate_limit;
  event["manifest_sha256"] = reloaded->manifest_sha256;
  event.update(diff);
  audit::add(out.audit_events, std::move(event), audit::kAllow, audit::kOk, started);
  Json reply{{"dry_run", dry_run},
             {"allowlist", reloaded->policy->allowlist},
             {"rate_limit", rate_limit},
             {"manifest_sha256", reloaded->manifest_sha256}};
  reply.update(Json(diff));
  append_ok(out.replies, request.id, std::move(reply));
}

}  // namespace remo::server
