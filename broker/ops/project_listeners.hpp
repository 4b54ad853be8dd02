// ProjectListeners: binds project sockets for the registry, each served by a Listener whose sessions talk
// to a ProjectOps over the project's live state.
#pragma once

#include <atomic>
#include <cstddef>
#include <filesystem>
#include <memory>

#include "broker/core/audit_log.hpp"
#include "broker/core/lock_state.hpp"
#include "broker/core/rate_limiter.hpp"
#include "broker/core/secret_store.hpp"
#include "broker/lifecycle/project_registry.hpp"
#include "broker/ops/claim_plane.hpp"
#include "broker/ops/data_plane_gate.hpp"
#include "broker/transport/listener.hpp"

namespace remo::server {

inline constexpr unsigned kProjectSocketMode = 0660;
// Connections waiting to be accepted. Small, because a socket over its pace of accepts leaves them there:
// after a churn of connections, the ones its clients closed meanwhile are drained in about a second at the
// default pace; a blocking connect beyond it waits, a non-blocking one gets EAGAIN.
inline constexpr int kProjectSocketBacklog = 128;

class ProjectListeners final : public ProjectSocketFactory {
 public:
  // lock, limiter and audit (its health) feed every project's DataPlaneGate; the ping buckets are here.
  ProjectListeners(IoPool& pool, const core::SecretStore& store, ClaimPlane claims,
                   const core::LockState& lock, core::RateLimiter& limiter, core::AuditLog& audit,
                   Listener::Options options, std::atomic<std::size_t>& live_connections);

  Result<std::shared_ptr<ProjectSocket>> bind(const core::Registration& registration,
                                              const std::filesystem::path& socket_path,
                                              std::shared_ptr<const ProjectState> state) override;

  // Shutdown has begun: bind nothing more (a register still in flight gets internal_error).
  void refuse_new() noexcept { refusing_ = true; }

 private:
  IoPool& pool_;
  const core::SecretStore& store_;
  ClaimPlane claims_;
  const core::LockState& lock_;
  core::RateLimiter& limiter_;
  core::AuditLog& audit_;
  core::RateLimiter ping_limiter_{kPingLimits};  // one bucket per project name ever bound
  // Accepts, paced at twice the project's line limits, in a bucket of their own: a connection costs the
  // broker about what a line does, a client that opens one per request is not charged twice, and it still
  // meets rate_limited when it goes past the project's rate (a pace equal to the rate would only delay it).
  core::RateLimiter connect_limiter_;
  Listener::Options options_;
  std::atomic<std::size_t>& live_connections_;
  bool refusing_ = false;  // control-plane thread only
};

}  // namespace remo::server
