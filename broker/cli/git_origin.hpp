// The origin a git credential request names (protocol, host, port), normalised so that spellings of one
// origin compare equal and different origins never do, and the GIT_TOKEN_ secret name an origin has by
// convention. The convention is injective: no two origins it names share a secret name, and origins it
// cannot name that way (a '-' in the host, an IPv6 literal, an over-long name) have no conventional name
// at all and need an explicit entry in the helper's config.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "broker/common/result.hpp"

namespace remo::cli {

inline constexpr std::string_view kGitTokenPrefix = "GIT_TOKEN_";

// A host and port as the helper compares them: the host in lower case without a trailing dot (a DNS
// name of letter-digit-hyphen labels, a dotted-quad IPv4 address, or a bracketed IPv6 address in its
// canonical text form), the port in decimal without leading zeros, empty for the default port.
struct GitAuthority {
  std::string host;
  std::string port;

  // "host" or "host:port": how [hosts."..."] keys are compared.
  std::string text() const { return port.empty() ? host : host + ":" + port; }
  bool operator==(const GitAuthority&) const = default;
};

// Parses "Host.Example.:8443" (git's host field, or a [hosts] key); a port equal to default_port is
// dropped. Errors (code "refused") say what is wrong with the text without echoing control bytes.
Result<GitAuthority> parse_git_authority(std::string_view text, std::string_view default_port);

// The scheme's default port: "443" for https, "80" for http, empty for anything else.
std::string_view default_port_of(std::string_view scheme);

// GIT_TOKEN_ + the host's labels upper-cased and joined by '_' (+ '_' + port when not the default):
// github.com -> GIT_TOKEN_GITHUB_COM, git.example.com:8443 -> GIT_TOKEN_GIT_EXAMPLE_COM_8443.
// Nothing for a host with a '-', an IPv6 literal, or a name over 128 characters.
std::optional<std::string> conventional_secret(const GitAuthority& authority);

}  // namespace remo::cli
