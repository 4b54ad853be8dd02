#include "broker/transport/reply.hpp"

#include <sodium.h>

#include <string>

#include "protocol/codes.hpp"
#include "protocol/json_text.hpp"
#include "protocol/utf8.hpp"

namespace remo::server {
namespace {

void append_dump(ReplyBuffer& out, const Json& reply) {
  // Replace, not throw: a message may quote a path or manifest text that is not UTF-8.
  const std::string text = reply.dump(-1, ' ', false, Json::error_handler_t::replace);
  out.append(text.data(), text.size());
  out.push_back('\n');
}

void append_id(ReplyBuffer& out, const Json& id) {
  if (id.is_null()) return;
  out.append(",\"id\":");
  const std::string text = id.dump(-1, ' ', false, Json::error_handler_t::replace);
  out.append(text.data(), text.size());
}

}  // namespace

void append_ok(ReplyBuffer& out, const Json& id, const Json& fields) {
  Json reply = Json::object();
  reply["ok"] = true;
  if (!id.is_null()) reply["id"] = id;
  for (const auto& [key, value] : fields.items()) reply[key] = value;
  append_dump(out, reply);
}

void append_error(ReplyBuffer& out, const Json& id, std::string_view code, std::string_view message) {
  Json reply = Json::object();
  reply["ok"] = false;
  if (!id.is_null()) reply["id"] = id;
  reply["code"] = code;
  reply["message"] = message;
  append_dump(out, reply);
}

void append_error(ReplyBuffer& out, const Json& id, const Error& error) {
  append_error(out, id, error.code, error.message);
}

void append_error_with(ReplyBuffer& out, const Json& id, const Error& error, const Json& fields) {
  Json reply = Json::object();
  reply["ok"] = false;
  if (!id.is_null()) reply["id"] = id;
  reply["code"] = error.code;
  reply["message"] = error.message;
  for (const auto& [key, value] : fields.items()) reply[key] = value;
  append_dump(out, reply);
}

namespace {

// ,"value":"..." or ,"value_b64":"...", straight from secure memory into out. A text value must be UTF-8
// (checked by the caller).
void append_value_field(ReplyBuffer& out, std::string_view bytes, bool from_base64) {
  constexpr std::size_t kFraming = 96;  // everything but the value, id aside
  out.reserve(out.size() + kFraming + (from_base64 ? bytes.size() * 4 / 3 + 4 : bytes.size() + 16));
  if (from_base64) {
    out.append(",\"value_b64\":\"");
    const std::size_t encoded = sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_ORIGINAL);
    const std::size_t start = out.size();
    out.resize(start + encoded);  // encoded counts the terminating NUL, dropped below
    sodium_bin2base64(out.data() + start, encoded,
                      reinterpret_cast<const unsigned char*>(bytes.data()),  // NOLINT
                      bytes.size(), sodium_base64_VARIANT_ORIGINAL);
    out.resize(start + encoded - 1);
  } else {
    out.append(",\"value\":\"");
    protocol::append_json_escaped(out, bytes);
  }
  out.push_back('"');
}

Result<void> append_secret_bytes(ReplyBuffer& out, const Json& id, std::string_view secret_name,
                                 std::string_view bytes, bool from_base64, std::int64_t ttl_seconds) {
  if (!from_base64 && !protocol::is_valid_utf8(bytes)) {
    return Error{std::string(protocol::code::kInternalError),
                 "secret " + std::string(secret_name) + " is not valid UTF-8; push it as value_b64"};
  }
  out.append("{\"ok\":true");
  append_id(out, id);
  append_value_field(out, bytes, from_base64);
  out.append(",\"ttl_seconds\":");
  out.append(std::to_string(ttl_seconds));
  out.append("}\n");
  return {};
}

}  // namespace

Result<void> append_secret_value(ReplyBuffer& out, const Json& id, std::string_view secret_name,
                                 const core::SecretEntry& value, std::int64_t ttl_seconds) {
  return append_secret_bytes(out, id, secret_name, value.bytes.view(), value.from_base64, ttl_seconds);
}

Result<void> append_secret_value(ReplyBuffer& out, const Json& id, std::string_view secret_name,
                                 const core::SecretValue& value, std::int64_t ttl_seconds) {
  return append_secret_bytes(out, id, secret_name, value.bytes.view(), value.from_base64, ttl_seconds);
}

Result<void> append_claimed_value(ReplyBuffer& out, const Json& id, const core::SecretValue& value) {
  if (!value.from_base64 && !protocol::is_valid_utf8(value.bytes.view())) {
    return Error{std::string(protocol::code::kInternalError),
                 "the one-shot secret is not valid UTF-8"};  // create lets no such value through
  }
  out.append("{\"ok\":true");
  append_id(out, id);
  append_value_field(out, value.bytes.view(), value.from_base64);
  out.append("}\n");
  return {};
}

void append_ok_with_secret_field(ReplyBuffer& out, const Json& id, const Json& fields, std::string_view key,
                                 std::string_view secret) {
  append_ok(out, id, fields);
  out.resize(out.size() - 2);  // "}\n"
  out.append(",\"");
  protocol::append_json_escaped(out, key);
  out.append("\":\"");
  protocol::append_json_escaped(out, secret);
  out.append("\"}\n");
}

}  // namespace remo::server
