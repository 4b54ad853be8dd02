#include "broker/cli/broker_client.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "broker/cli/exit_codes.hpp"
#include "broker/core/unique_fd.hpp"

namespace remo::cli {
namespace {

constexpr std::size_t kMaxReplyBytes = 1024 * 1024;
// Long enough for a push of a large bundle or a key rotation, short enough that a wedged broker does not
// hang a script forever.
constexpr timeval kReplyTimeout{120, 0};

Error socket_error(const std::string& socket_path, std::string_view step, int err) {
  if (err == ENOENT || err == ECONNREFUSED || err == ENOTDIR) {
    return make_error(std::string(kBrokerNotRunning),
                      "no broker listens on " + socket_path + " (" + std::strerror(err) +
                          "); is remo-broker running, and is this the right socket? (--socket)");
  }
  if (err == EACCES || err == EPERM) {
    return make_error(std::string(kSocketPermission),
                      "permission denied on " + socket_path +
                          (socket_path.ends_with("admin.sock") ? " (the admin socket is for root)" : ""));
  }
  return make_error("io", socket_path + ": " + std::string(step) + ": " + std::strerror(err));
}

}  // namespace

std::string resolve_socket(SocketKind kind, const std::optional<std::string>& flag) {
  if (flag && !flag->empty()) return *flag;
  const char* env =
      std::getenv(kind == SocketKind::kAdmin ? "REMO_BROKER_ADMIN_SOCKET" : "REMO_BROKER_SOCKET");
  if (env != nullptr && *env != '\0') return env;
  return std::string(kind == SocketKind::kAdmin ? kDefaultAdminSocket : kDefaultProjectSocket);
}

Result<crypto::SecureBuffer> call_raw(const std::string& socket_path, std::span<const std::uint8_t> request) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(address.sun_path)) {
    return make_error("io", "socket path " + socket_path + " is too long for a Unix socket");
  }
  std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
  const core::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return socket_error(socket_path, "socket", errno);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &kReplyTimeout, sizeof(kReplyTimeout));
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {  // NOLINT
    return socket_error(socket_path, "connect", errno);
  }
  for (std::size_t sent = 0; sent < request.size();) {
    const ssize_t n = ::send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // The broker closes connections of peers it does not serve; its reply may be waiting.
      break;
    }
    sent += static_cast<std::size_t>(n);
  }
  crypto::SecureBuffer reply(kMaxReplyBytes);
  std::size_t filled = 0;
  while (filled < reply.size()) {
    const ssize_t n = ::recv(fd.get(), reply.data() + filled, reply.size() - filled, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return make_error(std::string(kMalformedReply),
                        "the broker on " + socket_path + " did not answer in time");
    }
    if (n < 0 && errno != ECONNRESET) return socket_error(socket_path, "receive", errno);
    if (n <= 0) {
      return make_error(std::string(kMalformedReply),
                        "the broker on " + socket_path + " closed the connection without a reply");
    }
    const auto* begin = reply.data() + filled;
    const auto* end = std::find(begin, begin + n, '\n');
    filled += static_cast<std::size_t>(n);
    if (end != reply.data() + filled) {
      reply.truncate(static_cast<std::size_t>(end - reply.data()));
      return reply;
    }
  }
  return make_error(std::string(kMalformedReply), "the broker's reply is longer than 1 MiB");
}

Result<Json> parse_reply(std::string_view line) {
  auto reply = Json::parse(line, nullptr, false);
  if (!reply.is_object() || !reply.contains("ok") || !reply["ok"].is_boolean()) {
    return make_error(std::string(kMalformedReply), "the broker's reply is not a JSON object with \"ok\"");
  }
  return reply;
}

Result<Json> call(const std::string& socket_path, const Json& request) {
  const std::string line = request.dump() + "\n";
  auto reply =
      call_raw(socket_path, {reinterpret_cast<const std::uint8_t*>(line.data()), line.size()});  // NOLINT
  if (!reply) return std::move(reply).error();
  return parse_reply(reply->view());
}

Result<Json> parse_ok_reply(std::string_view line) {
  auto reply = parse_reply(line);
  if (!reply) return std::move(reply).error();
  if ((*reply)["ok"] != true) return failure_of(*reply);
  return reply;
}

Result<Json> call_ok(const std::string& socket_path, const Json& request) {
  auto reply = call(socket_path, request);
  if (!reply) return std::move(reply).error();
  if ((*reply)["ok"] != true) return failure_of(*reply);
  return reply;
}

Error failure_of(const Json& reply) {
  const auto text = [&](const char* key, const char* fallback) {
    const auto it = reply.find(key);
    return it != reply.end() && it->is_string() ? it->get<std::string>() : std::string(fallback);
  };
  std::string code = text("code", "unknown");
  std::string message = text("message", "(the broker gave no message)");
  if (exit_code::for_broker_code(code) == exit_code::kUnknownBrokerCode) {
    message = code + ": " + message;  // keep the broker's word, under a code this CLI maps to one status
    code = std::string(kUnknownBrokerCode);
  }
  if (const auto retry = reply.find("retry_after_seconds"); retry != reply.end() && retry->is_number()) {
    message += " (retry after " + retry->dump() + " s)";
  }
  return make_error(std::move(code), std::move(message));
}

}  // namespace remo::cli
