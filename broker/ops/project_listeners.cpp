#include "broker/ops/project_listeners.hpp"

#include <string>
#include <utility>

#include "broker/ops/project_ops.hpp"
#include "protocol/codes.hpp"

namespace remo::server {
namespace {

core::RateLimiter::Limits connect_limits(const core::RateLimiter::Limits& lines) {
  return {2 * lines.rate_per_second, 2 * lines.burst};
}

}  // namespace

ProjectListeners::ProjectListeners(IoPool& pool, const core::SecretStore& store, ClaimPlane claims,
                                   const core::LockState& lock, core::RateLimiter& limiter,
                                   core::AuditLog& audit, Listener::Options options,
                                   std::atomic<std::size_t>& live_connections)
    : pool_(pool),
      store_(store),
      claims_(std::move(claims)),
      lock_(lock),
      limiter_(limiter),
      audit_(audit),
      connect_limiter_(connect_limits(limiter.defaults())),
      options_(std::move(options)),
      live_connections_(live_connections) {}

Result<std::shared_ptr<ProjectSocket>> ProjectListeners::bind(const core::Registration& registration,
                                                              const std::filesystem::path& socket_path,
                                                              std::shared_ptr<const ProjectState> state) {
  if (refusing_) return Error{std::string(protocol::code::kInternalError), "the broker is stopping"};
  auto socket_file =
      bind_socket_file({socket_path, kProjectSocketMode, registration.gid, kProjectSocketBacklog});
  if (!socket_file) return std::move(socket_file).error();
  auto endpoint = std::make_shared<ProjectOps>(
      std::move(state), registration.uids, store_,
      DataPlaneGate(lock_, limiter_, registration.name, &audit_, &ping_limiter_), claims_);
  Listener::Options options = options_;
  options.name = "project " + registration.name;
  options.audit_project = registration.name;
  options.admit_connection = [this, name = registration.name] {
    // The project's limits now: a reload may have changed them.
    const core::RateLimiter::Limits limits = connect_limits(limiter_.limits_for(name));
    if (connect_limiter_.limits_for(name) != limits) connect_limiter_.set_limits(name, limits);
    return connect_limiter_.acquire(name).allowed;
  };
  return std::shared_ptr<ProjectSocket>(std::make_shared<Listener>(
      pool_, std::move(*socket_file), std::move(endpoint), audit_, std::move(options), live_connections_));
}

}  // namespace remo::server
