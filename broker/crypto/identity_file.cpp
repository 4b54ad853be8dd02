// Identity and recipient files in the line format age-keygen writes and `age -i` / `age -R` read.
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <string>

#include "broker/crypto/age.hpp"

namespace remo::crypto {
namespace {

// Calls visit(line, line_number) for every line that is neither blank nor a '#' comment. A CR
// before the LF is dropped, as age does. Stops at the first error visit returns.
template <class Visit>
Result<void> for_each_entry(std::string_view text, Visit visit) {
  std::size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const std::size_t lf = text.find('\n');
    std::string_view line = text.substr(0, lf);
    text.remove_prefix(lf == std::string_view::npos ? text.size() : lf + 1);
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.empty() || line.starts_with('#')) continue;
    auto visited = visit(line, line_number);
    if (!visited) return visited;
  }
  return {};
}

// RFC 3339 local time with a numeric offset ("Z" for UTC), as age-keygen prints it.
std::string rfc3339_now() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &local);
  std::string out(stamp);
  const long offset_minutes = local.tm_gmtoff / 60;
  if (offset_minutes == 0) return out + "Z";
  const long magnitude = offset_minutes < 0 ? -offset_minutes : offset_minutes;
  std::snprintf(stamp, sizeof stamp, "%c%02ld:%02ld", offset_minutes < 0 ? '-' : '+', magnitude / 60,
                magnitude % 60);
  return out + stamp;
}

}  // namespace

Result<std::vector<X25519Identity>> parse_identity_file(std::string_view text) {
  std::vector<X25519Identity> identities;
  auto parsed = for_each_entry(text, [&](std::string_view line, std::size_t number) -> Result<void> {
    auto identity = X25519Identity::parse(line);
    if (!identity) {
      return make_error("key", "line " + std::to_string(number) + ": " + identity.error().message);
    }
    identities.push_back(std::move(identity).value());
    return {};
  });
  if (!parsed) return std::move(parsed).error();
  if (identities.empty()) return make_error("key", "no identities found");
  return identities;
}

Result<std::vector<X25519Recipient>> parse_recipients_file(std::string_view text) {
  std::vector<X25519Recipient> recipients;
  auto parsed = for_each_entry(text, [&](std::string_view line, std::size_t number) -> Result<void> {
    auto recipient = X25519Recipient::parse(line);
    if (!recipient) {
      return make_error("recipient", "line " + std::to_string(number) + ": " + recipient.error().message);
    }
    recipients.push_back(*recipient);
    return {};
  });
  if (!parsed) return std::move(parsed).error();
  if (recipients.empty()) return make_error("recipient", "no recipients found");
  return recipients;
}

SecureBuffer format_identity_file(const X25519Identity& identity) {
  const std::string head =
      "# created: " + rfc3339_now() + "\n# public key: " + identity.recipient().encode() + "\n";
  const SecureBuffer key = identity.encode();
  SecureBuffer out(head.size() + key.size() + 1);
  std::copy(head.begin(), head.end(), out.data());
  std::copy(key.data(), key.data() + key.size(), out.data() + head.size());
  out.data()[out.size() - 1] = '\n';
  return out;
}

}  // namespace remo::crypto
