// ProjectOps: the ops of one project's socket (ping, info, get, and the one-shot claim and delete). Data
// plane: the policy and the secrets are read through atomic snapshots, so a get never waits for a push, a
// reload or another client; claim and delete wait for the ledger's fsync on a claim worker, never here.
// Every line passes the DataPlaneGate (kill switch, rate limit, audit health; ping its own bucket) first.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include <sys/types.h>

#include "broker/core/secret_store.hpp"
#include "broker/lifecycle/project_state.hpp"
#include "broker/ops/claim_plane.hpp"
#include "broker/ops/data_plane_gate.hpp"
#include "broker/transport/endpoint.hpp"
#include "protocol/request.hpp"

namespace remo::server {

class ProjectOps final : public Endpoint {
 public:
  // allowed_uids empty: any peer that can open the socket (its mode and group decide).
  ProjectOps(std::shared_ptr<const ProjectState> project, std::vector<uid_t> allowed_uids,
             const core::SecretStore& store, DataPlaneGate gate, ClaimPlane claims = {});

  bool admit(const PeerCredentials& peer, Answers& out) override;
  void handle(std::string_view line, const PeerCredentials& peer, Answers& out) override;
  void line_too_long(const PeerCredentials& peer, Answers& out) override;
  void blank_line(const PeerCredentials& peer, Answers& out) override;

 private:
  void refuse_invalid(const Request& request, const PeerCredentials& peer, const Error& error,
                      Answers& out) const;
  void ping(const Request& request, const PeerCredentials& peer, Answers& out) const;
  void info(const Request& request, const PeerCredentials& peer, Answers& out) const;
  void get(const Request& request, const PeerCredentials& peer, Answers& out) const;
  // claim and delete, in project_claim_ops.cpp.
  void one_shot(Request request, const PeerCredentials& peer, Answers& out) const;

  std::shared_ptr<const ProjectState> project_;
  std::vector<uid_t> allowed_uids_;
  const core::SecretStore& store_;
  DataPlaneGate gate_;
  ClaimPlane claims_;
};

}  // namespace remo::server
