// SecretSet: the decrypted bundle, immutable once built. Values live in secure memory.
// Bundle plaintext is TOML: each top-level key is a secret name (^[A-Za-z0-9_]{1,128}$) whose value is
// a string, or an inline table { value_b64 = "..." } for bytes that are not UTF-8.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "broker/common/result.hpp"
#include "broker/crypto/secure_buffer.hpp"

namespace remo::core {

struct SecretValue {
  crypto::SecureBuffer bytes;
  bool from_base64 = false;  // given as value_b64: reply with value_b64 rather than value
};

class SecretSet {
 public:
  // Errors: code "invalid_payload" with a message naming the key or the TOML position (never a value).
  static Result<SecretSet> parse_bundle(std::string_view toml_plaintext);

  const SecretValue* find(std::string_view name) const;
  std::size_t size() const noexcept { return values_.size(); }
  std::vector<std::string> names() const;

 private:
  std::map<std::string, SecretValue, std::less<>> values_;
};

bool is_valid_secret_name(std::string_view name);

}  // namespace remo::core
