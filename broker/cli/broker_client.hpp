// The client side of the broker's sockets: find the socket (flag, environment, default), send one request
// line, read one reply line into secure memory. Every command that talks to a broker goes through here, so
// "broker not running", "permission denied" and "malformed reply" read the same everywhere.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "broker/common/result.hpp"
#include "broker/crypto/secure_buffer.hpp"

namespace remo::cli {

using Json = nlohmann::ordered_json;

// Error codes of failures on this side of the socket (broker failures keep the wire code).
inline constexpr std::string_view kBrokerNotRunning = "broker_not_running";
inline constexpr std::string_view kSocketPermission = "socket_permission";
inline constexpr std::string_view kMalformedReply = "malformed_reply";
inline constexpr std::string_view kUnknownBrokerCode = "unknown_broker_code";

enum class SocketKind { kAdmin, kProject };

// In a directory of its own, outside the one project sockets are mounted from (README, "Devcontainer").
inline constexpr std::string_view kDefaultAdminSocket = "/run/remo-broker-admin/admin.sock";
// Where a devcontainer sees its project's socket (the bind mount in README's devcontainer.json).
inline constexpr std::string_view kDefaultProjectSocket = "/run/remo-broker/project.sock";

// --socket, else REMO_BROKER_ADMIN_SOCKET / REMO_BROKER_SOCKET, else the default.
std::string resolve_socket(SocketKind kind, const std::optional<std::string>& flag);

// One request (a complete line ending in '\n'), one reply line (without '\n') in secure memory: replies to
// get and claim carry values. The reply is limited to 1 MiB.
Result<crypto::SecureBuffer> call_raw(const std::string& socket_path, std::span<const std::uint8_t> request);

// A request without secrets; the reply parsed. A reply that is not a JSON object is kMalformedReply.
// ok:false replies are returned as they are (see failure_of).
Result<Json> call(const std::string& socket_path, const Json& request);
Result<Json> parse_reply(std::string_view line);

// The Error of an ok:false reply: its code, and its message (with the retry delay of rate_limited).
Error failure_of(const Json& reply);

// parse_reply and call, with an ok:false reply turned into its Error (failure_of).
Result<Json> parse_ok_reply(std::string_view line);
Result<Json> call_ok(const std::string& socket_path, const Json& request);

}  // namespace remo::cli
