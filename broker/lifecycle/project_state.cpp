#include "broker/lifecycle/project_state.hpp"

#include <algorithm>
#include <utility>

namespace remo::server {

ProjectPolicy ProjectPolicy::from_manifest(const core::Manifest& manifest) {
  return ProjectPolicy{manifest.allowlist, manifest.cache_ttl_seconds.value_or(kDefaultTtlSeconds),
                       std::nullopt, manifest.limits};
}

ProjectPolicy ProjectPolicy::from_approved(const core::ApprovedPolicy& approved) {
  return ProjectPolicy{approved.allowlist, approved.cache_ttl_seconds.value_or(kDefaultTtlSeconds),
                       std::nullopt, approved.limits};
}

ProjectPolicy ProjectPolicy::failed(std::string error) {
  return ProjectPolicy{{}, kDefaultTtlSeconds, std::move(error), {}};
}

bool ProjectPolicy::allows(std::string_view secret_name) const {
  return std::find(allowlist.begin(), allowlist.end(), secret_name) != allowlist.end();
}

ProjectState::ProjectState(std::string name, ProjectPolicy policy)
    : name_(std::move(name)), policy_(std::make_shared<const ProjectPolicy>(std::move(policy))) {}

std::shared_ptr<const ProjectPolicy> ProjectState::policy() const {
  const std::lock_guard lock(mutex_);
  return policy_;
}

void ProjectState::set_policy(ProjectPolicy policy) {
  auto next = std::make_shared<const ProjectPolicy>(std::move(policy));
  const std::lock_guard lock(mutex_);
  policy_.swap(next);  // the old policy is freed by its last reader, or here after the lock is released
}

}  // namespace remo::server
