#include "broker/cli/project_client.hpp"

#include "broker/cli/broker_client.hpp"
#include "broker/cli/reply_secret.hpp"
#include "broker/cli/secure_request.hpp"
#include "protocol/ops.hpp"

namespace remo::cli {
namespace {

namespace field = protocol::field;
namespace op = protocol::op;

// Sends request; on ok:true returns the value of the reply, else the broker's error.
Result<crypto::SecureBuffer> fetch_value(const std::string& socket_path,
                                         std::span<const std::uint8_t> request) {
  auto line = call_raw(socket_path, request);
  if (!line) return std::move(line).error();
  auto text = take_json_string(*line, field::kValue);
  if (!text) return std::move(text).error();
  std::optional<crypto::SecureBuffer> value = std::move(*text);
  if (!value) {
    auto bytes = take_secret_value(*line);  // value_b64, or an error reply without a value
    if (bytes) value = std::move(*bytes);
  }
  if (auto reply = parse_ok_reply(line->view()); !reply) return std::move(reply).error();
  if (!value) return make_error(std::string(kMalformedReply), "the broker's reply carries no readable value");
  return std::move(*value);
}

}  // namespace

Result<crypto::SecureBuffer> get_secret(const std::string& socket_path, std::string_view name) {
  const std::string request = Json{{field::kOp, op::kGet}, {field::kName, name}}.dump() + "\n";
  return fetch_value(socket_path,
                     {reinterpret_cast<const std::uint8_t*>(request.data()), request.size()});  // NOLINT
}

Result<crypto::SecureBuffer> claim_secret(const std::string& socket_path, const crypto::SecureBuffer& token) {
  const crypto::SecureBuffer request =
      request_with_secret({{field::kOp, op::kClaim}}, field::kToken, token.span());
  return fetch_value(socket_path, request.span());
}

Result<void> delete_claim(const std::string& socket_path, const crypto::SecureBuffer& token) {
  const crypto::SecureBuffer request =
      request_with_secret({{field::kOp, op::kDelete}}, field::kToken, token.span());
  auto line = call_raw(socket_path, request.span());
  if (!line) return std::move(line).error();
  if (auto reply = parse_ok_reply(line->view()); !reply) return std::move(reply).error();
  return {};
}

}  // namespace remo::cli
