// The audit lines the server writes. core::AuditLog adds "time"; every line then carries "event",
// "decision" (allow/deny), "outcome" ("ok" or the wire error code), "peer" {pid,uid,gid} and "latency_us",
// plus the event's own fields ("project", "secret", "secret_count", "ciphertext_sha256", "claim_id"). Names
// and decisions only: never a value, a key or a token.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "broker/transport/peer_credentials.hpp"
#include "protocol/json_text.hpp"

namespace remo::server::audit {

inline constexpr std::string_view kSecretGet = "secret.get";
inline constexpr std::string_view kProjectInfo = "project.info";  // audited only when refused by the gate
// Lines a project socket refuses before any op: malformed, unknown op, over-long (protocol_error, or
// rate_limited when over the rate), and pings over the ping bucket. Audited only when refused.
inline constexpr std::string_view kRequestInvalid = "request.invalid";
inline constexpr std::string_view kProjectPing = "project.ping";
inline constexpr std::string_view kCredsPush = "creds.push";
inline constexpr std::string_view kCredsClear = "creds.clear";
inline constexpr std::string_view kCredsDigests = "creds.digests";
inline constexpr std::string_view kProjectRegister = "project.register";
inline constexpr std::string_view kProjectUnregister = "project.unregister";
inline constexpr std::string_view kProjectReload = "project.reload";
// The manifest in a project's tree differs from the approved policy (once per distinct content; no peer).
inline constexpr std::string_view kManifestChanged = "manifest.changed";
// The broker recorded a project's policy by itself: "reason" "upgrade" (a registration from before policies
// were recorded takes the manifest it finds at the first start; no peer).
inline constexpr std::string_view kPolicyRecorded = "policy.recorded";
inline constexpr std::string_view kPeerRejected = "peer.rejected";
// A connection turned away because its project socket has as many as it takes (outcome rate_limited).
inline constexpr std::string_view kConnectionRefused = "connection.refused";
inline constexpr std::string_view kBootstrapRotate = "bootstrap.rotate";
// One-shot secrets: "claim_id" and "project" (when known), never the token or the value.
inline constexpr std::string_view kClaimCreate = "claim.create";
inline constexpr std::string_view kClaimClaim = "claim.claim";
inline constexpr std::string_view kClaimDelete = "claim.delete";
inline constexpr std::string_view kClaimRevoke = "claim.revoke";
inline constexpr std::string_view kClaimExpired = "claim.expired";  // by the broker itself: no peer
inline constexpr std::string_view kBrokerLock = "broker.lock";
inline constexpr std::string_view kBrokerUnlock = "broker.unlock";

inline constexpr std::string_view kAllow = "allow";
inline constexpr std::string_view kDeny = "deny";
inline constexpr std::string_view kOk = "ok";

using Clock = std::chrono::steady_clock;

// An event under construction: {"event":..,"peer":{..}}; add fields, then add() it to the batch.
inline nlohmann::json begin(std::string_view event, const PeerCredentials& peer) {
  return nlohmann::json{{"event", event}, {"peer", to_audit_json(peer)}};
}

// Completes the event with decision, outcome and latency_us (since started) and adds it to the events the
// session will record (see Answers).
inline void add(std::vector<nlohmann::json>& events, nlohmann::json event, std::string_view decision,
                std::string_view outcome, Clock::time_point started) {
  event["decision"] = decision;
  event["outcome"] = outcome;
  event["latency_us"] = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started).count();
  events.push_back(std::move(event));
}

// The secret.get event as JSON object text (see Answers::audit_lines), the same fields as
// begin()/add() would give. project and secret are validated names ([A-Za-z0-9_.-], no quote or
// backslash); anything else is escaped all the same.
inline void add_get_line(std::vector<std::string>& lines, const PeerCredentials& peer,
                         std::string_view project, std::string_view secret, std::string_view decision,
                         std::string_view outcome, Clock::time_point started) {
  const auto quoted = [](std::string& out, std::string_view text) {
    out += '"';
    protocol::append_json_escaped(out, text);
    out += '"';
  };
  const auto latency = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started).count();
  std::string line;
  line.reserve(160 + project.size() + secret.size());
  line += R"({"decision":)";
  quoted(line, decision);
  line += R"(,"event":")";
  line += kSecretGet;
  line += R"(","latency_us":)";
  line += std::to_string(latency);
  line += R"(,"outcome":)";
  quoted(line, outcome);
  line += R"(,"peer":{"gid":)";
  line += std::to_string(peer.gid);
  line += R"(,"pid":)";
  line += std::to_string(peer.pid);
  line += R"(,"uid":)";
  line += std::to_string(peer.uid);
  line += R"(},"project":)";
  quoted(line, project);
  line += R"(,"secret":)";
  quoted(line, secret);
  line += '}';
  lines.push_back(std::move(line));
}

}  // namespace remo::server::audit
