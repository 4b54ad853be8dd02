#include "broker/cli/command_input.hpp"

#include <cctype>
#include <cerrno>
#include <cstdlib>

#include "broker/core/secret_set.hpp"

namespace remo::cli {
namespace {

constexpr std::string_view kSignatureBegin = "-----BEGIN SSH SIGNATURE-----";
constexpr std::string_view kSignatureEnd = "-----END SSH SIGNATURE-----";
constexpr std::size_t kMaxTokenLength = 1024;

std::string_view text_of(std::span<const std::uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};  // NOLINT: byte view
}

}  // namespace

Result<std::uint32_t> parse_id(const std::string& text, std::string_view what) {
  char* end = nullptr;
  errno = 0;
  const unsigned long value = std::strtoul(text.c_str(), &end, 10);  // NOLINT: runtime/int
  if (text.empty() || *end != '\0' || errno != 0 || value >= 0xFFFFFFFFUL || text.front() == '-') {
    return make_error("usage", std::string(what) + " must be a number in 0..4294967294");
  }
  return static_cast<std::uint32_t>(value);
}

Result<std::pair<std::string, std::span<const std::uint8_t>>> split_signature(
    std::span<const std::uint8_t> input) {
  const std::string_view text = text_of(input);
  if (!text.starts_with(kSignatureBegin)) {
    return make_error(
        "usage", "--signature-on-stdin: standard input does not start with " + std::string(kSignatureBegin));
  }
  const std::size_t end = text.find(kSignatureEnd);
  if (end == std::string_view::npos)
    return make_error("usage", "--signature-on-stdin: the signature has no END line");
  std::size_t after = end + kSignatureEnd.size();
  if (after < text.size() && text[after] == '\r') ++after;
  if (after < text.size() && text[after] == '\n') ++after;
  return std::pair{std::string(text.substr(0, after)), input.subspan(after)};
}

bool is_env_name(std::string_view name) {
  if (name.empty() || (name.front() >= '0' && name.front() <= '9')) return false;
  for (const char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_')) return false;
  }
  return true;
}

bool is_token_text(std::string_view token) {
  if (token.empty() || token.size() > kMaxTokenLength) return false;
  for (const char c : token) {
    if (c <= ' ' || c > '~' || c == '"' || c == '\\') return false;
  }
  return true;
}

Result<std::vector<WantedSecret>> parse_env_specs(const std::vector<std::string>& specs) {
  std::vector<WantedSecret> wanted;
  for (const std::string& spec : specs) {
    const auto eq = spec.find('=');
    WantedSecret item{spec.substr(0, eq), eq == std::string::npos ? spec.substr(0, eq) : spec.substr(eq + 1)};
    if (!core::is_valid_secret_name(item.secret)) {
      return make_error("usage", "--env " + spec + ": NAME must match ^[A-Za-z0-9_]{1,128}$");
    }
    if (!is_env_name(item.variable)) {
      return make_error("usage", "--env " + spec + ": VAR must be an environment variable name");
    }
    wanted.push_back(std::move(item));
  }
  return wanted;
}

}  // namespace remo::cli
