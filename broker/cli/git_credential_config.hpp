// The git credential helper's config file: which secret (and username) answers for which host.
//
//   [hosts."gitlab.mycorp.com"]      # the default port (443; 80 for http when allow_http is set)
//   secret = "GITLAB_TOKEN"
//   username = "oauth2"              # optional
//   allow_http = false               # optional: also answer protocol=http for this host
//
// Keys are hosts as the helper compares them (git_origin.hpp): case, a trailing dot and the default port
// do not matter; any other port is a different host. The file is trusted only when its owner is root or
// the user running the helper and nobody else may write it (like ssh with its config files), so nobody
// but that user can choose where that user's tokens go. Even so, a secret named GIT_TOKEN_... belongs to
// the host its name spells: an entry naming it for any other host is an error.
#pragma once

#include <map>
#include <string>

#include "broker/cli/git_origin.hpp"
#include "broker/common/result.hpp"

namespace remo::cli {

struct GitHostEntry {
  std::string secret;
  std::string username;  // empty: git's, else the helper's default
  bool allow_http = false;
};

class GitCredentialConfig {
 public:
  // Reads and checks the file. With missing_ok a file that does not exist is an empty config. Errors
  // (code "config") name the file and the key, never a value from it.
  static Result<GitCredentialConfig> load(const std::string& path, bool missing_ok);

  // The entry for exactly this host and port, if any.
  const GitHostEntry* find(const GitAuthority& authority) const;

 private:
  std::map<std::string, GitHostEntry> entries_;  // by GitAuthority::text()
};

// At most 64 bytes of text with control bytes as '?': a key or field quoted in a one-line error.
std::string printable_excerpt(std::string_view text);

// True when text may be sent to git as a username: printable ASCII or UTF-8, no control bytes.
bool is_safe_git_username(std::string_view text);

}  // namespace remo::cli
