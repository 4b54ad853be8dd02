// Who is on the other end of a Unix socket, as the kernel saw it at connect() time (SO_PEERCRED).
// This, not anything the client says, is what the trust decisions rest on.
#pragma once

#include <sys/types.h>

#include <nlohmann/json.hpp>

#include "broker/common/result.hpp"

namespace remo::server {

struct PeerCredentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

// Errors: internal_error naming errno.
Result<PeerCredentials> read_peer_credentials(int socket_fd);

// The admin socket serves root and the broker's own uid (a sandboxed broker run by a developer), nobody else.
bool is_admin_peer(const PeerCredentials& peer, uid_t broker_uid) noexcept;

// {"pid":..,"uid":..,"gid":..} for audit lines.
nlohmann::json to_audit_json(const PeerCredentials& peer);

}  // namespace remo::server
