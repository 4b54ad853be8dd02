// JSON text written by hand where building a JSON tree would cost too much or copy a secret: reply lines
// carrying values (reply.cpp) and the audit line of every get (audit_events.hpp).
#pragma once

#include <string_view>

namespace remo::protocol {

// The body of a JSON string literal (RFC 8259 section 7), appended to out (a std::string or a ReplyBuffer):
// quote, backslash and control characters escaped, everything else (UTF-8 included) copied in runs.
template <class String>
void append_json_escaped(String& out, std::string_view text) {
  static constexpr std::string_view kHex = "0123456789abcdef";
  std::size_t run_start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte >= 0x20 && byte != '"' && byte != '\\') continue;
    out.append(text.substr(run_start, i - run_start));
    run_start = i + 1;
    switch (byte) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        out.append("\\u00");
        out.push_back(kHex[byte >> 4U]);
        out.push_back(kHex[byte & 0x0FU]);
    }
  }
  out.append(text.substr(run_start));
}

}  // namespace remo::protocol
