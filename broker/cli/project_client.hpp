// Reading values from a project socket (get, claim): the value goes from the reply line into secure
// memory without passing through the JSON library. Shared by get, exec, claim and the git helper.
#pragma once

#include <string>
#include <string_view>

#include "broker/common/result.hpp"
#include "broker/crypto/secure_buffer.hpp"

namespace remo::cli {

// get {name}: the secret's bytes. Errors keep the broker's code (denied, not_found, ...).
Result<crypto::SecureBuffer> get_secret(const std::string& socket_path, std::string_view name);

// claim {token}: the one-shot value; the token travels in secure memory only.
Result<crypto::SecureBuffer> claim_secret(const std::string& socket_path, const crypto::SecureBuffer& token);

// delete {token}: discard a one-shot secret unread.
Result<void> delete_claim(const std::string& socket_path, const crypto::SecureBuffer& token);

}  // namespace remo::cli
