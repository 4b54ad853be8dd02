// Persistent project registrations (state_dir/registrations.json), rewritten atomically on change.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

#include "broker/common/result.hpp"

namespace remo::core {

struct Registration {
  std::string name;
  std::filesystem::path project_path;
  std::vector<uid_t> uids;  // empty: any uid that can reach the socket
  std::optional<gid_t> gid;
};

// Absent file: empty list. Corrupt file: error "internal_error" (the caller reports, not fatal).
Result<std::vector<Registration>> load_registrations(const std::filesystem::path& file);
Result<void> save_registrations(const std::filesystem::path& file, const std::vector<Registration>& regs);

}  // namespace remo::core
