// secret-digests {key_b64}: what remo-brokerctl push --dry-run compares against. The caller sends a fresh
// random 32-byte key; the reply maps each loaded secret's name to BLAKE2b-256(key, name || 0x00 || value)
// (core/secret_digest.hpp). Names and keyed digests only: a value cannot be recovered from them, and the
// key being new every time, digests from two calls cannot be linked or matched against guesses made
// without the key. Admin socket only (root), audited like every other admin op.
#include <sodium.h>

#include <vector>

#include "broker/core/secret_digest.hpp"
#include "broker/crypto/base64.hpp"
#include "broker/ops/admin_ops.hpp"
#include "broker/transport/audit_events.hpp"
#include "broker/transport/reply.hpp"
#include "protocol/codes.hpp"
#include "protocol/requests.hpp"

namespace remo::server {

void AdminOps::secret_digests(const Request& request, protocol::SecretDigestsRequest typed,
                              const PeerCredentials& peer, Answers& out) {
  const auto started = audit::Clock::now();
  static_assert(protocol::SecretDigestsRequest::kKeySize == core::kDigestKeySize);
  const std::span<const std::uint8_t> key = typed.key.span();
  const auto snapshot = broker_.store.snapshot();
  Json digests = Json::object();
  for (const std::string& name : snapshot->secrets->names()) {
    const core::SecretEntry* value = snapshot->secrets->find(name);
    digests[name] = core::secret_digest_hex(key, name, value->bytes.span());
  }

  auto event = audit::begin(audit::kCredsDigests, peer);
  event["secret_count"] = digests.size();
  audit::add(out.audit_events, std::move(event), audit::kAllow, audit::kOk, started);
  append_ok(out.replies, request.id, Json{{"digests", std::move(digests)}});
}

}  // namespace remo::server
