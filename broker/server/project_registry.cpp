#include "broker/server/project_registry.hpp"

#include <spdlog/spdlog.h>

#include <utility>

#include "broker/core/manifest.hpp"
#include "broker/server/data_plane_gate.hpp"
#include "protocol/codes.hpp"

namespace remo::server {

namespace code = protocol::code;

std::optional<std::string> RegisteredProject::error() const {
  if (auto policy_error = state->policy()->error) return policy_error;
  return socket_error;
}

ProjectRegistry::ProjectRegistry(std::filesystem::path socket_dir, std::filesystem::path registrations_file,
                                 ProjectSocketFactory& sockets, core::RateLimiter* limiter)
    : socket_dir_(std::move(socket_dir)),
      registrations_file_(std::move(registrations_file)),
      sockets_(sockets),
      limiter_(limiter) {}

ProjectRegistry::~ProjectRegistry() { close_all(); }

std::filesystem::path ProjectRegistry::socket_path_for(std::string_view name) const {
  return socket_dir_ / (std::string(name) + std::string(kSocketSuffix));
}

void ProjectRegistry::restore() {
  auto registrations = core::load_registrations(registrations_file_);
  if (!registrations) {
    persistence_error_ = registrations.error().message;
    spdlog::error("{}; starting with no registered projects", registrations.error().message);
    return;
  }
  for (core::Registration& registration : *registrations) {
    if (projects_.contains(registration.name)) continue;
    const std::string name = registration.name;
    auto manifest = core::load_manifest(registration.project_path, name);
    ProjectPolicy policy =
        manifest ? ProjectPolicy::from_manifest(*manifest) : ProjectPolicy::failed(manifest.error().message);
    if (policy.error)
      spdlog::error("project {}: {}; it denies every secret until reloaded", name, *policy.error);
    RegisteredProject project{std::move(registration), socket_path_for(name),
                              std::make_shared<ProjectState>(name, std::move(policy)), nullptr, std::nullopt};
    apply_rate_limits(project);  // before the socket accepts its first request
    if (auto bound = bind_and_start(project); !bound) {
      spdlog::error("project {}: {}", name, bound.error().message);
    }
    projects_.emplace(name, std::move(project));
  }
}

Result<const RegisteredProject*> ProjectRegistry::add(core::Registration registration) {
  const std::string name = registration.name;
  if (name == kAdminSocketName) {
    return Error{std::string(code::kProtocolError),
                 "the project name admin is reserved for the admin socket"};
  }
  if (projects_.contains(name)) {
    return Error{std::string(code::kProjectExists), "a project named " + name + " is already registered"};
  }
  auto manifest = core::load_manifest(registration.project_path, name);
  if (!manifest) return std::move(manifest).error();

  RegisteredProject project{registration, socket_path_for(name),
                            std::make_shared<ProjectState>(name, ProjectPolicy::from_manifest(*manifest)),
                            nullptr, std::nullopt};
  auto socket = sockets_.bind(project.registration, project.socket_path, project.state);
  if (!socket) return std::move(socket).error();

  apply_rate_limits(project);  // before start(); a failure below forgets them again
  std::vector<core::Registration> registrations = registrations_without(name);
  registrations.push_back(std::move(registration));
  if (auto persisted = persist(registrations); !persisted) {
    (*socket)->close();
    if (limiter_ != nullptr) limiter_->forget(name);
    return std::move(persisted).error();
  }
  project.socket = std::move(*socket);
  project.socket->start();
  const auto [entry, inserted] = projects_.emplace(name, std::move(project));
  return &entry->second;
}

Result<void> ProjectRegistry::remove(std::string_view name) {
  const auto entry = projects_.find(name);
  if (entry == projects_.end()) {
    return Error{std::string(code::kProjectUnknown),
                 "no project named " + std::string(name) + " is registered"};
  }
  if (auto persisted = persist(registrations_without(name)); !persisted) return persisted;
  if (entry->second.socket) entry->second.socket->close();
  if (limiter_ != nullptr) limiter_->forget(name);
  projects_.erase(entry);
  return {};
}

Result<std::shared_ptr<const ProjectPolicy>> ProjectRegistry::reload(std::string_view name) {
  const auto entry = projects_.find(name);
  if (entry == projects_.end()) {
    return Error{std::string(code::kProjectUnknown),
                 "no project named " + std::string(name) + " is registered"};
  }
  RegisteredProject& project = entry->second;
  auto manifest = core::load_manifest(project.registration.project_path, project.registration.name);
  if (!manifest) return std::move(manifest).error();
  project.state->set_policy(ProjectPolicy::from_manifest(*manifest));
  apply_rate_limits(project);
  if (!project.socket) {
    if (auto bound = bind_and_start(project); !bound) return std::move(bound).error();
  }
  return project.state->policy();
}

void ProjectRegistry::drain_all() {
  for (auto& [name, project] : projects_) {
    if (project.socket) project.socket->drain();
  }
}

void ProjectRegistry::close_all() {
  for (auto& [name, project] : projects_) {
    if (project.socket) project.socket->close();
    project.socket.reset();
  }
}

Result<void> ProjectRegistry::bind_and_start(RegisteredProject& project) {
  auto socket = sockets_.bind(project.registration, project.socket_path, project.state);
  if (!socket) {
    project.socket_error = socket.error().message;
    return std::move(socket).error();
  }
  project.socket = std::move(*socket);
  project.socket_error.reset();
  project.socket->start();
  return {};
}

void ProjectRegistry::apply_rate_limits(const RegisteredProject& project) {
  if (limiter_ == nullptr) return;
  const core::ManifestLimits& wanted = project.state->policy()->limits;
  const core::RateLimiter::Limits broker_default = limiter_->defaults();
  const core::RateLimiter::Limits limits = project_rate_limits(broker_default, wanted);
  if ((wanted.requests_per_second &&
       static_cast<double>(*wanted.requests_per_second) > limits.rate_per_second &&
       broker_default.rate_per_second > 0) ||
      (wanted.burst && static_cast<double>(*wanted.burst) > limits.burst)) {
    spdlog::warn(
        "project {}: its manifest's [limits] ask for more than the broker default allows; the "
        "default applies (a manifest can only tighten it)",
        project.registration.name);
  }
  limiter_->set_limits(project.registration.name, limits);
}

Result<void> ProjectRegistry::persist(const std::vector<core::Registration>& registrations) {
  if (auto saved = core::save_registrations(registrations_file_, registrations); !saved) {
    persistence_error_ = saved.error().message;
    spdlog::error("{}", saved.error().message);
    return saved;
  }
  persistence_error_.reset();
  return {};
}

std::vector<core::Registration> ProjectRegistry::registrations_without(std::string_view name) const {
  std::vector<core::Registration> registrations;
  registrations.reserve(projects_.size());
  for (const auto& [project_name, project] : projects_) {
    if (project_name != name) registrations.push_back(project.registration);
  }
  return registrations;
}

}  // namespace remo::server
