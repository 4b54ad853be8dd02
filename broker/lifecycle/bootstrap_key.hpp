// The bootstrap key: the broker's age X25519 identity file (as age-keygen writes it), delivered by systemd
// credentials. It is read straight into secure memory and never printed; errors say what is wrong with
// the file, never what is in it.
#pragma once

#include <filesystem>
#include <vector>

#include "broker/common/result.hpp"
#include "broker/crypto/age.hpp"

namespace remo::server {

inline constexpr std::size_t kMaxBootstrapKeyBytes = 64 * 1024;

struct BootstrapKey {
  std::vector<crypto::X25519Identity> identities;  // at least one; identities[0] is the broker's own
  bool readable_by_others = false;                 // group or other may read the file: worth a warning
};

// Errors: bootstrap_error naming the path and the reason (missing, unreadable, not a regular file, too
// large, not an age identity file, no identity in it).
Result<BootstrapKey> load_bootstrap_key(const std::filesystem::path& file);

}  // namespace remo::server
