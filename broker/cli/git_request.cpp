#include "broker/cli/git_request.hpp"

#include "broker/cli/git_origin.hpp"

namespace remo::cli {
namespace {

constexpr std::string_view kDefaultUsername = "x-access-token";

}  // namespace

bool is_complete_git_request(std::string_view text) {
  return text.starts_with('\n') || text.find("\n\n") != std::string_view::npos;
}

Result<GitRequest> parse_git_request(std::string_view text) {
  if (text.find('\0') != std::string_view::npos)
    return make_error("refused", "git's request holds a NUL byte");
  GitRequest fields;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (line.empty()) break;
    const std::size_t eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0)
      return make_error("refused", "a line of git's request is not key=value");
    const std::string key(line.substr(0, eq));
    if (key == "url") return make_error("refused", "git's request names a url= (helpers are sent its parts)");
    if (key.ends_with("[]")) continue;  // multi-valued fields (wwwauth[], capability[]): not used here
    if (!fields.emplace(key, line.substr(eq + 1)).second) {
      return make_error("refused", "git's request names '" + printable_excerpt(key) + "' twice");
    }
  }
  return fields;
}

std::string git_field(const GitRequest& request, const std::string& key) {
  const auto found = request.find(key);
  return found == request.end() ? std::string() : found->second;
}

Result<GitAnswer> choose_answer(const GitRequest& request, const GitCredentialConfig& config) {
  const std::string scheme = git_field(request, "protocol");
  if (scheme != "https" && scheme != "http") {
    return make_error("refused", "protocol '" + printable_excerpt(scheme) +
                                     "': only https (or http for an entry with allow_http)");
  }
  auto authority = parse_git_authority(git_field(request, "host"), default_port_of(scheme));
  if (!authority) return std::move(authority).error();
  GitAnswer answer{"", "", scheme + "://" + authority->text()};
  const GitHostEntry* entry = config.find(*authority);
  if (scheme == "http" && (entry == nullptr || !entry->allow_http)) {
    return make_error("refused", "no credential for " + answer.origin +
                                     ": plain http needs allow_http = true in the host's config entry");
  }
  if (entry != nullptr) {
    answer.secret = entry->secret;
    answer.username = entry->username;
  } else if (auto conventional = conventional_secret(*authority)) {
    answer.secret = std::move(*conventional);
  } else {
    return make_error("refused", "no credential for " + answer.origin +
                                     ": the host has no GIT_TOKEN_ name (it holds '-', or is an IPv6 "
                                     "literal); add a [hosts.\"" +
                                     authority->text() + "\"] entry to the config");
  }
  const std::string given = git_field(request, "username");
  if (!is_safe_git_username(given)) return make_error("refused", "git's username holds a control character");
  if (!given.empty()) answer.username = given;
  if (answer.username.empty()) answer.username = std::string(kDefaultUsername);
  return answer;
}

}  // namespace remo::cli
