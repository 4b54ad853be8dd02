#include "broker/cli/git_origin.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <vector>

namespace remo::cli {
namespace {

constexpr std::size_t kMaxHostLength = 253;  // a DNS name's limit in text form
constexpr std::size_t kMaxLabelLength = 63;
constexpr std::size_t kMaxSecretNameLength = 128;
constexpr int kMaxPort = 65535;

Error refused(std::string_view text, std::string_view why) {
  return make_error("refused", "host '" + std::string(text) + "': " + std::string(why));
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_lower_alnum(char c) { return is_digit(c) || (c >= 'a' && c <= 'z'); }
bool all_digits(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_digit); }

std::vector<std::string_view> split_labels(std::string_view host) {
  std::vector<std::string_view> labels;
  for (std::size_t start = 0;;) {
    const std::size_t dot = host.find('.', start);
    labels.push_back(
        host.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) return labels;
    start = dot + 1;
  }
}

// A dotted quad in the one spelling the helper accepts: four decimal numbers 0-255, no leading zeros.
bool is_canonical_ipv4(const std::vector<std::string_view>& labels) {
  if (labels.size() != 4) return false;
  return std::all_of(labels.begin(), labels.end(), [](std::string_view label) {
    return all_digits(label) && label.size() <= 3 && (label.size() == 1 || label.front() != '0') &&
           std::stoi(std::string(label)) <= 255;
  });
}

// Letter-digit-hyphen labels. A name whose last label is all digits must be a dotted quad: that keeps
// "example.com:8443" and the name "example.com.8443" apart in the conventional secret names.
Result<std::string> parse_dns_host(std::string_view original, std::string_view host) {
  if (host.empty() || host.size() > kMaxHostLength) return refused(original, "not a host name");
  const auto labels = split_labels(host);
  for (const std::string_view label : labels) {
    if (label.empty() || label.size() > kMaxLabelLength)
      return refused(original, "a label is empty or too long");
    if (!std::all_of(label.begin(), label.end(), [](char c) { return is_lower_alnum(c) || c == '-'; })) {
      return refused(original, "only letters, digits, '-' and '.' may name a host");
    }
    if (label.front() == '-' || label.back() == '-')
      return refused(original, "a label starts or ends with '-'");
  }
  if (all_digits(labels.back()) && !is_canonical_ipv4(labels)) {
    return refused(original, "a numeric host must be a dotted-quad IPv4 address without leading zeros");
  }
  return std::string(host);
}

Result<std::string> parse_ipv6_host(std::string_view original, std::string_view bracketed) {
  const std::string inner(bracketed.substr(1, bracketed.size() - 2));
  std::array<unsigned char, 16> address{};
  std::array<char, INET6_ADDRSTRLEN> canonical{};
  if (::inet_pton(AF_INET6, inner.c_str(), address.data()) != 1 ||
      ::inet_ntop(AF_INET6, address.data(), canonical.data(), canonical.size()) == nullptr) {
    return refused(original, "not an IPv6 address (zone identifiers are not accepted)");
  }
  return "[" + std::string(canonical.data()) + "]";
}

Result<std::string> parse_port(std::string_view original, std::string_view port,
                               std::string_view default_port) {
  if (!all_digits(port) || port.size() > 5 || port.front() == '0') {
    return refused(original, "the port must be a decimal number 1-65535 without leading zeros");
  }
  if (std::stoi(std::string(port)) > kMaxPort) return refused(original, "the port is over 65535");
  return port == default_port ? std::string() : std::string(port);
}

}  // namespace

std::string_view default_port_of(std::string_view scheme) {
  if (scheme == "https") return "443";
  if (scheme == "http") return "80";
  return {};
}

Result<GitAuthority> parse_git_authority(std::string_view text, std::string_view default_port) {
  if (text.empty()) return make_error("refused", "the host is empty");
  if (!std::all_of(text.begin(), text.end(), [](char c) { return c > ' ' && c < 0x7f; })) {
    return make_error("refused",
                      "the host holds a byte outside printable ASCII (write an internationalised name in "
                      "its xn-- form)");
  }
  if (text.size() > kMaxHostLength + 7) return refused(text.substr(0, 32), "too long");
  std::string lowered(text);
  std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
  const std::string_view folded(lowered);

  std::string_view host = folded;
  std::optional<std::string_view> port;
  if (folded.front() == '[') {
    const std::size_t close = folded.find(']');
    if (close == std::string_view::npos) return refused(text, "an IPv6 literal without its ']'");
    host = folded.substr(0, close + 1);
    const std::string_view rest = folded.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return refused(text, "text after the IPv6 literal");
    if (!rest.empty()) port = rest.substr(1);
  } else if (const std::size_t colon = folded.find(':'); colon != std::string_view::npos) {
    if (folded.find(':', colon + 1) != std::string_view::npos) return refused(text, "more than one ':'");
    host = folded.substr(0, colon);
    port = folded.substr(colon + 1);
  }
  GitAuthority authority;
  if (port) {
    auto parsed_port = parse_port(text, *port, default_port);
    if (!parsed_port) return std::move(parsed_port).error();
    authority.port = std::move(*parsed_port);
  }
  if (host.front() == '[') {
    auto parsed = parse_ipv6_host(text, host);
    if (!parsed) return std::move(parsed).error();
    authority.host = std::move(*parsed);
    return authority;
  }
  if (host.ends_with('.')) host.remove_suffix(1);  // the absolute form of the same DNS name
  auto parsed = parse_dns_host(text, host);
  if (!parsed) return std::move(parsed).error();
  authority.host = std::move(*parsed);
  return authority;
}

// Why this is injective: the name is the host's labels, then the port, joined by '_'. Labels are
// non-empty [a-z0-9] runs here (no '-'), so '_' separates exactly one label or the port. A port is
// present exactly when the last part is numeric and the parts before it are a dotted quad or end in a
// non-numeric label; without a port the last part is non-numeric or the whole is a dotted quad.
// parse_dns_host makes those cases exclusive, so every name decodes to one authority.
std::optional<std::string> conventional_secret(const GitAuthority& authority) {
  if (authority.host.starts_with('[') || authority.host.find('-') != std::string::npos) return std::nullopt;
  std::string name(kGitTokenPrefix);
  for (const char c : authority.host) {
    name.push_back(c == '.' ? '_' : (c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c));
  }
  if (!authority.port.empty()) name += "_" + authority.port;
  if (name.size() > kMaxSecretNameLength) return std::nullopt;
  return name;
}

}  // namespace remo::cli
