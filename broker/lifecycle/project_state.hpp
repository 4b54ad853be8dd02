// The live view of one registered project that its sessions read: its name and its policy (allowlist and
// ttl). A reload swaps the policy atomically: a get sees the old allowlist or the new one, never a mix, and
// waits for nothing longer than a pointer copy (the same scheme as core::SecretStore: a mutex around the
// shared_ptr, because libstdc++ 12's atomic<shared_ptr> is not clean under ThreadSanitizer).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/core/approved_policy.hpp"
#include "broker/core/manifest.hpp"

namespace remo::server {

inline constexpr std::int64_t kDefaultTtlSeconds = 300;

struct ProjectPolicy {
  std::vector<std::string> allowlist;  // in manifest order
  std::int64_t ttl_seconds = kDefaultTtlSeconds;
  std::optional<std::string> error;  // why no policy could be loaded; the allowlist is then empty
  core::ManifestLimits limits;       // the manifest's [limits]; the registry applies them to the rate limiter

  static ProjectPolicy from_manifest(const core::Manifest& manifest);
  static ProjectPolicy from_approved(const core::ApprovedPolicy& approved);
  // Deny everything, and say why in status.
  static ProjectPolicy failed(std::string error);

  bool allows(std::string_view secret_name) const;
};

class ProjectState {
 public:
  ProjectState(std::string name, ProjectPolicy policy);

  const std::string& name() const noexcept { return name_; }
  std::shared_ptr<const ProjectPolicy> policy() const;
  void set_policy(ProjectPolicy policy);

 private:
  const std::string name_;
  mutable std::mutex mutex_;
  std::shared_ptr<const ProjectPolicy> policy_;
};

}  // namespace remo::server
