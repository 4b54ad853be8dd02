// SecretSet: the decrypted bundle, immutable once built. Values live in secure memory.
// Bundle plaintext is TOML: each top-level key is a secret name (^[A-Za-z0-9_]{1,128}$) whose value is
// a string, or an inline table { value_b64 = "..." } for bytes that are not UTF-8.
//
// All the values of a set share one secure allocation (guard pages, mlocked, not dumpable, wiped when the
// set goes): a secure allocation per value would cost about ten mmap/mprotect/mlock/madvise calls each
// way, a thousand system calls (and as many TLB shootdowns across the server threads) per push of a
// 100-secret bundle, more than the fsync that push-creds and start-up wait for.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
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

// A value's bytes inside its SecretSet's secure storage; valid as long as the set (moving the set keeps
// them valid: the storage does not move).
class SecretBytes {
 public:
  SecretBytes(const std::uint8_t* data, std::size_t size) noexcept : data_(data), size_(size) {}
  const std::uint8_t* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::span<const std::uint8_t> span() const noexcept { return {data_, size_}; }
  std::string_view view() const noexcept {
    return {reinterpret_cast<const char*>(data_), size_};  // NOLINT: byte view of a byte buffer
  }
  // Constant-time comparison.
  bool equals(std::span<const std::uint8_t> other) const noexcept;

 private:
  const std::uint8_t* data_;
  std::size_t size_;
};

// One secret of a set, as find() returns it.
struct SecretEntry {
  SecretBytes bytes;
  bool from_base64 = false;  // given as value_b64: reply with value_b64 rather than value
};

class SecretSet {
 public:
  // Errors: code "invalid_payload" with a message naming the key or the TOML position (never a value).
  static Result<SecretSet> parse_bundle(std::string_view toml_plaintext);

  const SecretEntry* find(std::string_view name) const;
  std::size_t size() const noexcept { return values_.size(); }
  std::vector<std::string> names() const;

 private:
  crypto::SecureBuffer storage_;  // every value, back to back
  std::map<std::string, SecretEntry, std::less<>> values_;
};

bool is_valid_secret_name(std::string_view name);

}  // namespace remo::core
