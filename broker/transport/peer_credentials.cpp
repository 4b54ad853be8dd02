#include "broker/transport/peer_credentials.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <string>

#include "broker/transport/errno_text.hpp"
#include "protocol/codes.hpp"

namespace remo::server {

Result<PeerCredentials> read_peer_credentials(int socket_fd) {
  ucred credentials{};
  socklen_t length = sizeof credentials;
  if (::getsockopt(socket_fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) {
    return Error{std::string(protocol::code::kInternalError),
                 "cannot read the peer's credentials (SO_PEERCRED): " + errno_text()};
  }
  return PeerCredentials{credentials.pid, credentials.uid, credentials.gid};
}

bool is_admin_peer(const PeerCredentials& peer, uid_t broker_uid) noexcept {
  return peer.uid == 0 || peer.uid == broker_uid;
}

nlohmann::json to_audit_json(const PeerCredentials& peer) {
  return nlohmann::json{{"pid", peer.pid}, {"uid", peer.uid}, {"gid", peer.gid}};
}

}  // namespace remo::server
