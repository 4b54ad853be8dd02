// AdminOps: the admin socket's ops (status, get-public-key, push-creds, clear-creds, register, unregister,
// reload, rotate-bootstrap, secret-digests, claim-create, claim-list, claim-revoke, lock, unlock). Control
// plane: every call runs on the one control-plane thread, so these ops are serialized with each other
// without a lock, and none of their work (decryption, fsync) runs on a data-plane thread. The one-shot secret
// ledger is the exception: it locks for itself, and claim-create and claim-revoke wait for its fsync on a
// claim worker (claim_plane.hpp).
#pragma once

#include <functional>
#include <string_view>

#include <asio/any_io_executor.hpp>

#include "broker/lifecycle/broker_state.hpp"
#include "broker/lifecycle/project_registry.hpp"
#include "broker/transport/endpoint.hpp"
#include "protocol/request.hpp"
#include "protocol/requests.hpp"

namespace remo::server {

class AdminOps final : public Endpoint {
 public:
  // changed runs after every successful change of state (the daemon updates its sd_notify STATUS).
  // claim_executor: the claim workers (see claim_plane.hpp).
  AdminOps(BrokerState& broker, ProjectRegistry& projects, std::function<void()> changed = {},
           asio::any_io_executor claim_executor = {});

  bool admit(const PeerCredentials& peer, Answers& out) override;
  void handle(std::string_view line, const PeerCredentials& peer, Answers& out) override;

 private:
  using Op = void (AdminOps::*)(const Request&, const PeerCredentials&, Answers&);
  // Parses the request as the op's typed request (a protocol_error reply when it is not one) and hands both
  // to the handler, which validates nothing more about the fields: authorize -> act -> audit -> reply.
  template <class Typed, void (AdminOps::*Handler)(const Request&, Typed, const PeerCredentials&, Answers&)>
  void typed(const Request& request, const PeerCredentials& peer, Answers& out);

  void status(const Request& request, protocol::StatusRequest typed, const PeerCredentials& peer,
              Answers& out);
  void get_public_key(const Request& request, protocol::GetPublicKeyRequest typed,
                      const PeerCredentials& peer, Answers& out);
  void push_creds(const Request& request, protocol::PushCredsRequest typed, const PeerCredentials& peer,
                  Answers& out);
  void clear_creds(const Request& request, protocol::ClearCredsRequest typed, const PeerCredentials& peer,
                   Answers& out);
  void register_project(const Request& request, protocol::RegisterRequest typed, const PeerCredentials& peer,
                        Answers& out);
  void unregister_project(const Request& request, protocol::UnregisterRequest typed,
                          const PeerCredentials& peer, Answers& out);
  void reload_project(const Request& request, protocol::ReloadRequest typed, const PeerCredentials& peer,
                      Answers& out);
  // In admin_digest_ops.cpp.
  void secret_digests(const Request& request, protocol::SecretDigestsRequest typed,
                      const PeerCredentials& peer, Answers& out);
  // In admin_rotate_ops.cpp.
  void rotate_bootstrap(const Request& request, protocol::RotateBootstrapRequest typed,
                        const PeerCredentials& peer, Answers& out);
  // In admin_claim_ops.cpp.
  void claim_create(Request request, const PeerCredentials& peer, Answers& out);
  void claim_list(const Request& request, protocol::ClaimListRequest typed, const PeerCredentials& peer,
                  Answers& out);
  void claim_revoke(const Request& request, protocol::ClaimRevokeRequest typed, const PeerCredentials& peer,
                    Answers& out);
  // In admin_lock_ops.cpp.
  void lock(const Request& request, protocol::LockRequest typed, const PeerCredentials& peer, Answers& out);
  void unlock(const Request& request, protocol::UnlockRequest typed, const PeerCredentials& peer,
              Answers& out);

  BrokerState& broker_;
  ProjectRegistry& projects_;
  std::function<void()> changed_;
  asio::any_io_executor claim_executor_;
};

}  // namespace remo::server
