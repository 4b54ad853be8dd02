// A git credential request (gitcredentials(7): key=value lines up to an empty line) and the answer the
// helper chooses for it: which secret, under which username. No I/O here: git_credential.cpp reads the
// request, fetches the secret and writes the answer.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "broker/cli/git_credential_config.hpp"
#include "broker/common/result.hpp"

namespace remo::cli {

using GitRequest = std::map<std::string, std::string>;

// What get answers with: which secret, under which username, for which origin (for messages).
struct GitAnswer {
  std::string secret;
  std::string username;
  std::string origin;
};

// True once text holds git's whole request: it starts with, or contains, the empty line that ends it.
bool is_complete_git_request(std::string_view text);

// git's request: key=value lines up to an empty line. Anything git itself never sends (a NUL byte, a
// line without '=', a field twice, a url= field) means the request is not what git meant: error (code
// "refused"). Multi-valued fields (key[]=...) are skipped. Messages never quote a value.
Result<GitRequest> parse_git_request(std::string_view text);

// The value of key in request, empty when absent.
std::string git_field(const GitRequest& request, const std::string& key);

// The secret and username for the request's origin, or why there is none (code "refused").
Result<GitAnswer> choose_answer(const GitRequest& request, const GitCredentialConfig& config);

}  // namespace remo::cli
