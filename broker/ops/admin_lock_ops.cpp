// AdminOps::lock and AdminOps::unlock: the kill switch. While locked every project-socket request but ping
// gets "locked" (see DataPlaneGate); the state is in state_dir/locked.json (see core::LockState).
#include "broker/ops/admin_lock_ops.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <string>
#include <utility>

#include "broker/core/timestamp.hpp"
#include "broker/ops/admin_ops.hpp"
#include "broker/transport/audit_events.hpp"
#include "broker/transport/reply.hpp"
#include "protocol/codes.hpp"
#include "protocol/ops.hpp"
#include "protocol/requests.hpp"

namespace remo::server {
namespace {

namespace code = protocol::code;

std::string peer_text(const PeerCredentials& peer) {
  return "uid " + std::to_string(peer.uid) + " (pid " + std::to_string(peer.pid) + ")";
}

Json lock_reply(const core::LockState::Info& info, bool changed) {
  Json reply{{protocol::reply::kLocked, info.locked}, {"changed", changed}};
  if (info.locked) {
    reply["locked_at"] = info.at ? Json(core::format_rfc3339_utc(*info.at)) : Json(nullptr);
    reply["lock_reason"] = info.reason;
  }
  return reply;
}

Error no_lock_state() {
  return Error{std::string(code::kInternalError), "the kill switch is not available in this broker"};
}

}  // namespace

Json lock_status(const BrokerState& broker) {
  if (!broker.lock) {
    return Json{{protocol::reply::kLocked, false},
                {"locked_at", nullptr},
                {"lock_reason", nullptr},
                {"lock_error", nullptr}};
  }
  const core::LockState::Info info = broker.lock->info();
  const auto problem = broker.lock->problem();
  return Json{
      {protocol::reply::kLocked, info.locked},
      {"locked_at", info.locked && info.at ? Json(core::format_rfc3339_utc(*info.at)) : Json(nullptr)},
      {"lock_reason", info.locked ? Json(info.reason) : Json(nullptr)},
      {"lock_error", problem ? Json(*problem) : Json(nullptr)}};
}

void AdminOps::lock(const Request& request, protocol::LockRequest typed, const PeerCredentials& peer,
                    Answers& out) {
  const auto started = audit::Clock::now();
  const std::string reason(typed.reason);
  if (!broker_.lock) return append_error(out.replies, request.id, no_lock_state());

  auto event = audit::begin(audit::kBrokerLock, peer);
  event["reason"] = reason;
  const auto changed = broker_.lock->lock(peer_text(peer), reason);
  if (!changed) {
    spdlog::error("lock: {}", changed.error().message);
    audit::add(out.audit_events, std::move(event), audit::kAllow, changed.error().code, started);
    return append_error(out.replies, request.id, changed.error());
  }
  const core::LockState::Info info = broker_.lock->info();
  if (*changed) {
    spdlog::warn("lock: the broker is locked by {}{}{}; project sockets answer only ping", peer_text(peer),
                 reason.empty() ? "" : ": ", reason);
    if (changed_) changed_();
  }
  event["changed"] = *changed;
  audit::add(out.audit_events, std::move(event), audit::kAllow, audit::kOk, started);
  append_ok(out.replies, request.id, lock_reply(info, *changed));
}

void AdminOps::unlock(const Request& request, protocol::UnlockRequest /*typed*/, const PeerCredentials& peer,
                      Answers& out) {
  const auto started = audit::Clock::now();
  if (!broker_.lock) return append_error(out.replies, request.id, no_lock_state());

  auto event = audit::begin(audit::kBrokerUnlock, peer);
  const auto changed = broker_.lock->unlock(peer_text(peer));
  if (!changed) {
    spdlog::error("unlock: {}", changed.error().message);
    audit::add(out.audit_events, std::move(event), audit::kAllow, changed.error().code, started);
    return append_error(out.replies, request.id, changed.error());
  }
  if (*changed) {
    spdlog::warn("unlock: the broker is unlocked by {}; project sockets serve again", peer_text(peer));
    if (changed_) changed_();
  }
  event["changed"] = *changed;
  audit::add(out.audit_events, std::move(event), audit::kAllow, audit::kOk, started);
  append_ok(out.replies, request.id, lock_reply(broker_.lock->info(), *changed));
}

}  // namespace remo::server
