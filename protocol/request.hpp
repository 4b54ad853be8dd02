// Request lines as the op handlers see them. Everything here is untrusted client input: each rule turns a
// bad line into a protocol_error whose message names the field, never quoting a value.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "broker/common/result.hpp"

namespace remo::protocol {

using Json = nlohmann::ordered_json;

struct Request {
  Json id;  // echoed in the reply; null when the request carried none
  std::string op;
  Json body;  // the whole request object
};

// Parses one line (without its '\n'): UTF-8 without NUL bytes, one JSON object with a string "op" and an
// optional "id" (a string of at most kMaxIdLength bytes, or an integer). On failure request.id is still
// set when the line was an object with a valid id, so the error reply can echo it.
inline constexpr std::size_t kMaxIdLength = 256;
Result<void> parse_request(std::string_view line, Request& request);

Error protocol_error(std::string message);

// A required string field without NUL characters. The view lives as long as the request.
Result<std::string_view> string_field(const Request& request, std::string_view key);

// Optional uid/gid values: integers in 0..2^32-2 ((id_t)-1 is never a real id).
Result<std::optional<std::uint32_t>> optional_id_field(const Request& request, std::string_view key);
Result<std::optional<std::vector<std::uint32_t>>> optional_id_list_field(const Request& request,
                                                                         std::string_view key);

// Zeroes the bytes of the string field key of the request body (a token, a one-shot value) so that they
// do not linger in freed heap memory. Nothing happens when the field is absent or not a string. (The JSON
// parser's own scratch copy of the line is beyond reach; the line buffer wipes the line itself.)
void wipe_string_field(Request& request, std::string_view key) noexcept;

// Zeroes every string in value, at any depth (keys are not values and stay).
void wipe_strings(Json& value) noexcept;

// A request holding secret string fields, wiped when it is destroyed, however its handling ends (answered,
// failed, or dropped at shutdown before its blocking work ran).
class RequestWithSecrets {
 public:
  RequestWithSecrets(Request request, std::vector<std::string> secret_fields)
      : request_(std::move(request)), secret_fields_(std::move(secret_fields)) {}
  ~RequestWithSecrets() {
    for (const auto& key : secret_fields_) wipe_string_field(request_, key);
  }
  RequestWithSecrets(const RequestWithSecrets&) = delete;
  RequestWithSecrets& operator=(const RequestWithSecrets&) = delete;

  const Request& get() const noexcept { return request_; }

 private:
  Request request_;
  std::vector<std::string> secret_fields_;
};

// Client text fit to quote in a message: short, and only [A-Za-z0-9_.-]. Anything else is not quoted.
bool is_quotable(std::string_view client_text) noexcept;

}  // namespace remo::protocol

// The server's handlers spell these unqualified.
namespace remo::server {
using protocol::is_quotable;
using protocol::Json;
using protocol::parse_request;
using protocol::protocol_error;
using protocol::Request;
using protocol::RequestWithSecrets;
using protocol::wipe_string_field;
}  // namespace remo::server
