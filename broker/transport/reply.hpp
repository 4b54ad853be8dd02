// Reply lines, appended to a ReplyBuffer (one line per request, '\n'-terminated).
//   success: {"ok":true[,"id":ID],<fields in the order given>}
//   failure: {"ok":false[,"id":ID],"code":CODE,"message":SENTENCE}
// "id" is echoed whenever the request carried a valid one. Messages never hold a secret value.
#pragma once

#include <cstdint>
#include <string_view>

#include "broker/common/result.hpp"
#include "broker/core/secret_set.hpp"
#include "broker/transport/reply_buffer.hpp"
#include "protocol/request.hpp"

namespace remo::server {

void append_ok(ReplyBuffer& out, const Json& id, const Json& fields = Json::object());
void append_error(ReplyBuffer& out, const Json& id, std::string_view code, std::string_view message);
void append_error(ReplyBuffer& out, const Json& id, const Error& error);
// A failure reply with fields of its own after "message" (rate_limited: "retry_after_seconds").
void append_error_with(ReplyBuffer& out, const Json& id, const Error& error, const Json& fields);

// {"ok":true[,"id":ID],"value":"..."|"value_b64":"...","ttl_seconds":N}, written from the secure buffer
// straight into out: the value passes through no other memory. A value pushed as text is escaped as a
// JSON string; one pushed as value_b64 is base64-encoded again. Fails (internal_error, nothing appended)
// only if a text value is not UTF-8, which the bundle parser never lets through.
Result<void> append_secret_value(ReplyBuffer& out, const Json& id, std::string_view secret_name,
                                 const core::SecretEntry& value, std::int64_t ttl_seconds);
Result<void> append_secret_value(ReplyBuffer& out, const Json& id, std::string_view secret_name,
                                 const core::SecretValue& value, std::int64_t ttl_seconds);

// {"ok":true[,"id":ID],"value":"..."|"value_b64":"..."}: a claimed one-shot secret, written like
// append_secret_value (same failure).
Result<void> append_claimed_value(ReplyBuffer& out, const Json& id, const core::SecretValue& value);

// {"ok":true[,"id":ID],<fields>,"<key>":"<secret>"}: a reply that carries one secret string (a one-shot
// secret's token), escaped straight from the caller's (secure) memory into out, never through a Json.
void append_ok_with_secret_field(ReplyBuffer& out, const Json& id, const Json& fields, std::string_view key,
                                 std::string_view secret);

}  // namespace remo::server
