// The laptop's pins of instance recipients, like ssh's known_hosts: $XDG_CONFIG_HOME/remo-broker/
// known_instances (else ~/.config/...), one "INSTANCE age1..." per line, '#' comments. INSTANCE is the host
// as given to push (without user@), or "[host]:port" when another SSH port is used. The first push to an
// instance pins its recipient (trust on first use); a later push refuses a different recipient until the
// user accepts it with --repin, so a swapped instance or a man in the middle with a key of its own
// cannot quietly receive the secrets.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "broker/common/result.hpp"

namespace remo::cli {

class KnownInstances {
 public:
  explicit KnownInstances(std::string path) : path_(std::move(path)) {}
  static std::string default_path();
  const std::string& path() const { return path_; }

  // The pinned recipient, if any. A missing file is an empty one.
  Result<std::optional<std::string>> find(const std::string& instance) const;
  // Adds or replaces the pin (atomically; the directory is created 0700, the file 0600).
  Result<void> pin(const std::string& instance, const std::string& recipient) const;

 private:
  Result<std::string> read_text() const;
  std::string path_;
};

// The recipient pinned for instance in a known_instances text, if any: the second word of the first line
// whose first word is instance. Lines with fewer than two words, and '#' comments, pin nothing.
std::optional<std::string> find_pin(std::string_view text, const std::string& instance);

// text without the lines whose first word is instance, then "INSTANCE RECIPIENT\n". Other lines,
// comments included, are kept as they are.
std::string with_pin(std::string_view text, const std::string& instance, const std::string& recipient);

}  // namespace remo::cli
