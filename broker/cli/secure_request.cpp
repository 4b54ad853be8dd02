#include "broker/cli/secure_request.hpp"

#include <sodium.h>

#include <cstring>
#include <string>

namespace remo::cli {
namespace {

constexpr std::size_t kWorstEscapedBytesPerByte = 6;  // \u00XX

class SecureWriter {
 public:
  explicit SecureWriter(std::size_t capacity) : buffer_(capacity) {}
  void put(std::string_view text) {
    std::memcpy(buffer_.data() + used_, text.data(), text.size());
    used_ += text.size();
  }
  void put(char c) { buffer_.data()[used_++] = static_cast<std::uint8_t>(c); }
  crypto::SecureBuffer finish() && {
    buffer_.truncate(used_);
    return std::move(buffer_);
  }

 private:
  crypto::SecureBuffer buffer_;
  std::size_t used_ = 0;
};

}  // namespace

crypto::SecureBuffer request_with_secret(const Json& plain, std::string_view key,
                                         std::span<const std::uint8_t> secret) {
  static constexpr std::string_view kHex = "0123456789abcdef";
  std::string head = plain.dump();
  head.pop_back();  // the closing brace; the secret member goes last
  const std::string member = (plain.empty() ? "\"" : ",\"") + std::string(key) + "\":\"";
  SecureWriter out(head.size() + member.size() + secret.size() * kWorstEscapedBytesPerByte + 3);
  out.put(head);
  out.put(member);
  for (const std::uint8_t byte : secret) {
    if (byte == '"' || byte == '\\') {
      out.put('\\');
      out.put(static_cast<char>(byte));
    } else if (byte < 0x20) {
      out.put("\\u00");
      out.put(kHex[byte >> 4U]);
      out.put(kHex[byte & 0x0FU]);
    } else {
      out.put(static_cast<char>(byte));
    }
  }
  out.put("\"}\n");
  return std::move(out).finish();
}

crypto::SecureBuffer base64_secure(std::span<const std::uint8_t> bytes) {
  const std::size_t size = sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  crypto::SecureBuffer out(size);
  sodium_bin2base64(reinterpret_cast<char*>(out.data()), size, bytes.data(), bytes.size(),  // NOLINT
                    sodium_base64_VARIANT_ORIGINAL);
  out.truncate(size - 1);  // the terminating NUL
  return out;
}

}  // namespace remo::cli
