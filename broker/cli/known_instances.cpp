#include "broker/cli/known_instances.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "broker/cli/io.hpp"

namespace remo::cli {
namespace {

// mkdir -p with mode 0700 for the directories it creates.
void make_private_dirs(const std::string& dir) {
  for (std::size_t slash = dir.find('/', 1);; slash = dir.find('/', slash + 1)) {
    ::mkdir(dir.substr(0, slash).c_str(), 0700);
    if (slash == std::string::npos) break;
  }
}

std::string parent_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

}  // namespace

std::string KnownInstances::default_path() {
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg != nullptr && *xdg == '/') {
    return std::string(xdg) + "/remo-broker/known_instances";
  }
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : "") + "/.config/remo-broker/known_instances";
}

Result<std::string> KnownInstances::read_text() const {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0 && errno == ENOENT) return std::string();
  auto bytes = read_bytes(path_);
  if (!bytes) return std::move(bytes).error();
  return std::string(reinterpret_cast<const char*>(bytes->span().data()), bytes->span().size());  // NOLINT
}

std::optional<std::string> find_pin(std::string_view text, const std::string& instance) {
  std::istringstream lines{std::string(text)};
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string name;
    std::string recipient;
    if (!(fields >> name >> recipient) || name.starts_with('#')) continue;
    if (name == instance) return recipient;
  }
  return std::nullopt;
}

std::string with_pin(std::string_view text, const std::string& instance, const std::string& recipient) {
  std::istringstream lines{std::string(text)};
  std::string line;
  std::string kept;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string name;
    if (fields >> name && name == instance) continue;
    kept += line + "\n";
  }
  kept += instance + " " + recipient + "\n";
  return kept;
}

Result<std::optional<std::string>> KnownInstances::find(const std::string& instance) const {
  auto text = read_text();
  if (!text) return std::move(text).error();
  return find_pin(*text, instance);
}

Result<void> KnownInstances::pin(const std::string& instance, const std::string& recipient) const {
  auto text = read_text();
  if (!text) return std::move(text).error();
  const std::string kept = with_pin(*text, instance, recipient);
  make_private_dirs(parent_of(path_));
  return write_output(path_, {reinterpret_cast<const std::uint8_t*>(kept.data()), kept.size()},
                      0600);  // NOLINT
}

}  // namespace remo::cli
