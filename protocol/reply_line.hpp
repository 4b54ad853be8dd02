// A failure reply as one finished line, for the few replies the transport sends by itself (a connection
// turned away or closed for the broker's own limits) without a request or a handler behind it:
//   {"ok":false,"code":CODE,"message":MESSAGE[,"retry_after_seconds":N]}\n
// The same bytes as the handlers' replies (broker/ops/reply.hpp) for a request that carried no id.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "protocol/json_text.hpp"

namespace remo::protocol {

inline std::string error_line(std::string_view code, std::string_view message,
                              std::optional<long long> retry_after_seconds = std::nullopt) {
  std::string line = R"({"ok":false,"code":")";
  append_json_escaped(line, code);
  line += R"(","message":")";
  append_json_escaped(line, message);
  line += '"';
  if (retry_after_seconds) line += R"(,"retry_after_seconds":)" + std::to_string(*retry_after_seconds);
  line += "}\n";
  return line;
}

}  // namespace remo::protocol
