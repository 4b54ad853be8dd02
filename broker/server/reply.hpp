// Reply lines, appended to a ReplyBuffer (one line per request, '\n'-terminated).
//   success: {"ok":true[,"id":ID],<fields in the order given>}
//   failure: {"ok":false[,"id":ID],"code":CODE,"message":SENTENCE}
// "id" is echoed whenever the request carried a valid one. Messages never hold a secret value.
#pragma once

#include <cstdint>
#include <string_view>

#include "broker/common/result.hpp"
#include "broker/core/secret_set.hpp"
#include "broker/server/reply_buffer.hpp"
#include "broker/server/request.hpp"

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
                                 const core::SecretValue& value, std::int64_t ttl_seconds);

}  // namespace remo::server
