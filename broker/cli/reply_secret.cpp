#include "broker/cli/reply_secret.hpp"

#include <sodium.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "broker/cli/broker_client.hpp"
#include "protocol/ops.hpp"

namespace remo::cli {
namespace {

Error malformed(std::string message) { return make_error(std::string(kMalformedReply), std::move(message)); }

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Appends code point cp as UTF-8.
void append_utf8(std::uint32_t cp, std::uint8_t* out, std::size_t& n) {
  if (cp < 0x80) {
    out[n++] = static_cast<std::uint8_t>(cp);
  } else if (cp < 0x800) {
    out[n++] = static_cast<std::uint8_t>(0xC0U | (cp >> 6U));
    out[n++] = static_cast<std::uint8_t>(0x80U | (cp & 0x3FU));
  } else if (cp < 0x10000) {
    out[n++] = static_cast<std::uint8_t>(0xE0U | (cp >> 12U));
    out[n++] = static_cast<std::uint8_t>(0x80U | ((cp >> 6U) & 0x3FU));
    out[n++] = static_cast<std::uint8_t>(0x80U | (cp & 0x3FU));
  } else {
    out[n++] = static_cast<std::uint8_t>(0xF0U | (cp >> 18U));
    out[n++] = static_cast<std::uint8_t>(0x80U | ((cp >> 12U) & 0x3FU));
    out[n++] = static_cast<std::uint8_t>(0x80U | ((cp >> 6U) & 0x3FU));
    out[n++] = static_cast<std::uint8_t>(0x80U | (cp & 0x3FU));
  }
}

// Reads the 4 hex digits at text[i..i+4).
std::optional<std::uint32_t> read_u16(std::string_view text, std::size_t i) {
  if (i + 4 > text.size()) return std::nullopt;
  std::uint32_t value = 0;
  for (std::size_t k = 0; k < 4; ++k) {
    const int digit = hex_digit(text[i + k]);
    if (digit < 0) return std::nullopt;
    value = (value << 4U) | static_cast<std::uint32_t>(digit);
  }
  return value;
}

// The \\uXXXX escape whose hex digits start at text[i] (a surrogate pair counts as one), appended to
// out[n...] as UTF-8; i moves past it.
Result<void> decode_unicode_escape(std::string_view text, std::size_t& i, std::uint8_t* out, std::size_t& n) {
  auto unit = read_u16(text, i);
  if (!unit) return malformed("a bad \\u escape in a reply string");
  i += 4;
  std::uint32_t cp = *unit;
  if (cp >= 0xD800 && cp <= 0xDBFF) {  // a high surrogate must be followed by a low one
    auto low =
        (i + 1 < text.size() && text[i] == '\\' && text[i + 1] == 'u') ? read_u16(text, i + 2) : std::nullopt;
    if (!low || *low < 0xDC00 || *low > 0xDFFF) return malformed("a lone surrogate in a reply string");
    i += 6;
    cp = 0x10000 + ((cp - 0xD800) << 10U) + (*low - 0xDC00);
  } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
    return malformed("a lone surrogate in a reply string");
  }
  append_utf8(cp, out, n);  // at most 4 bytes from at least 6 characters
  return {};
}

// The escape sequence at text[i] (a backslash), decoded and appended to out[n...]; i moves past it.
Result<void> decode_escape(std::string_view text, std::size_t& i, std::uint8_t* out, std::size_t& n) {
  if (i + 1 >= text.size()) return malformed("a reply string ends in a backslash");
  const char escape = text[i + 1];
  i += 2;
  switch (escape) {
    case '"':
      out[n++] = '"';
      return {};
    case '\\':
      out[n++] = '\\';
      return {};
    case '/':
      out[n++] = '/';
      return {};
    case 'b':
      out[n++] = '\b';
      return {};
    case 'f':
      out[n++] = '\f';
      return {};
    case 'n':
      out[n++] = '\n';
      return {};
    case 'r':
      out[n++] = '\r';
      return {};
    case 't':
      out[n++] = '\t';
      return {};
    case 'u':
      return decode_unicode_escape(text, i, out, n);
    default:
      return malformed("a bad escape in a reply string");
  }
}

// Finds `"key":"` at the top level of a reply line as the broker writes it (no spaces; members of the
// top-level object only, which the broker's replies make unambiguous: no other member is an object
// holding the same key before it).
std::size_t find_member(std::string_view text, std::string_view key) {
  std::string needle(1, '"');  // appended piece by piece: GCC 12 misreports '"' + key (-Wrestrict)
  needle.append(key).append("\":\"");
  const std::size_t at = text.find(needle);
  return at == std::string_view::npos ? at : at + needle.size();
}

}  // namespace

Result<std::optional<crypto::SecureBuffer>> take_json_string(crypto::SecureBuffer& line,
                                                             std::string_view key) {
  const std::string_view text = line.view();
  const std::size_t start = find_member(text, key);
  if (start == std::string_view::npos) return std::optional<crypto::SecureBuffer>{};
  // The decoded string is never longer than its literal.
  crypto::SecureBuffer out(text.size() - start);
  std::size_t n = 0;
  std::size_t i = start;
  while (true) {
    if (i >= text.size()) return malformed("a string in the broker's reply is not terminated");
    const char c = text[i];
    if (c == '"') break;
    if (static_cast<unsigned char>(c) < 0x20) return malformed("a control character in a reply string");
    if (c != '\\') {
      out.data()[n++] = static_cast<std::uint8_t>(c);
      ++i;
      continue;
    }
    if (auto decoded = decode_escape(text, i, out.data(), n); !decoded) return std::move(decoded).error();
  }
  std::memset(line.data() + start, 'x', i - start);
  out.truncate(n);
  return std::optional<crypto::SecureBuffer>(std::move(out));
}

Result<crypto::SecureBuffer> take_secret_value(crypto::SecureBuffer& line) {
  auto text = take_json_string(line, protocol::field::kValue);
  if (!text) return std::move(text).error();
  if (*text) return std::move(**text);
  auto encoded = take_json_string(line, protocol::field::kValueB64);
  if (!encoded) return std::move(encoded).error();
  if (!*encoded) return malformed("the broker's reply carries neither value nor value_b64");
  const crypto::SecureBuffer& b64 = **encoded;
  crypto::SecureBuffer bytes(b64.size() / 4 * 3 + 3);
  std::size_t length = 0;
  if (sodium_base642bin(bytes.data(), bytes.size(), reinterpret_cast<const char*>(b64.data()),  // NOLINT
                        b64.size(), nullptr, &length, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0) {
    return malformed("the broker's value_b64 is not base64");
  }
  bytes.truncate(length);
  return bytes;
}

}  // namespace remo::cli
