// Persistent project registrations (state_dir/registrations.json), rewritten atomically on change: who may
// reach each project's socket and the policy an admin approved for it (see approved_policy.hpp).
// Version 2; a version 1 file (written before policies were recorded) loads with no policy.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

#include "broker/common/result.hpp"
#include "broker/core/approved_policy.hpp"

namespace remo::core {

struct Registration {
  std::string name;
  std::filesystem::path project_path;
  std::vector<uid_t> uids;  // empty: any uid that can reach the socket
  std::optional<gid_t> gid;
  std::optional<ApprovedPolicy> policy = std::nullopt;  // absent: from a version 1 file, not yet recorded
  // The last manifest that differed from the approved policy and was reported (manifest.changed): its
  // SHA-256, or for a manifest that could not be read, its error code. Each distinct change is reported once.
  std::optional<std::string> reported_manifest = std::nullopt;
};

// Absent file: empty list. Corrupt file: error "internal_error" (the caller reports, not fatal).
Result<std::vector<Registration>> load_registrations(const std::filesystem::path& file);
Result<void> save_registrations(const std::filesystem::path& file, const std::vector<Registration>& regs);

}  // namespace remo::core
