// AdminOps: the admin socket's ops (status, get-public-key, push-creds, clear-creds, register, unregister,
// reload). Control plane: every call runs on the one control-plane thread, so these ops are serialized
// with each other without a lock, and none of their work (decryption, fsync) runs on a data-plane thread.
#pragma once

#include <string_view>

#include "broker/core/audit_log.hpp"
#include "broker/server/broker_state.hpp"
#include "broker/server/endpoint.hpp"
#include "broker/server/project_registry.hpp"
#include "broker/server/request.hpp"

namespace remo::server {

class AdminOps final : public Endpoint {
 public:
  AdminOps(BrokerState& broker, ProjectRegistry& projects, core::AuditLog& audit);

  bool admit(const PeerCredentials& peer) override;
  void handle(std::string_view line, const PeerCredentials& peer, ReplyBuffer& out) override;

 private:
  void status(const Request& request, const PeerCredentials& peer, ReplyBuffer& out);
  void get_public_key(const Request& request, const PeerCredentials& peer, ReplyBuffer& out);
  void push_creds(const Request& request, const PeerCredentials& peer, ReplyBuffer& out);
  void clear_creds(const Request& request, const PeerCredentials& peer, ReplyBuffer& out);
  void register_project(const Request& request, const PeerCredentials& peer, ReplyBuffer& out);
  void unregister_project(const Request& request, const PeerCredentials& peer, ReplyBuffer& out);
  void reload_project(const Request& request, const PeerCredentials& peer, ReplyBuffer& out);

  BrokerState& broker_;
  ProjectRegistry& projects_;
  core::AuditLog& audit_;
};

}  // namespace remo::server
