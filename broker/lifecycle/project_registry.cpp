#include "broker/lifecycle/project_registry.hpp"

#include <spdlog/spdlog.h>

#include <utility>

#include "broker/core/manifest.hpp"
#include "broker/lifecycle/project_limits.hpp"
#include "broker/transport/audit_events.hpp"
#include "protocol/codes.hpp"
#include "protocol/ops.hpp"

namespace remo::server {

namespace code = protocol::code;

namespace {

Error unknown_project(std::string_view name) {
  return Error{std::string(code::kProjectUnknown),
               "no project named " + std::string(name) + " is registered"};
}

// The manifest just read is the one the admin reviewed (by its SHA-256), when the admin named one: the
// project's uid can swap its manifest between the admin's look and the approval.
Result<void> matches_review(const core::Manifest& manifest,
                            const std::optional<std::string>& expected_sha256) {
  if (!expected_sha256 || manifest.sha256 == *expected_sha256) return {};
  return Error{std::string(code::kManifestInvalid),
               manifest.source.string() +
                   ": the manifest changed since it was reviewed (its SHA-256 is now " + manifest.sha256 +
                   ", not " + *expected_sha256 + "); nothing was approved"};
}

}  // namespace

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

std::vector<nlohmann::json> ProjectRegistry::restore() {
  std::vector<nlohmann::json> events;
  auto registrations = core::load_registrations(registrations_file_);
  if (!registrations) {
    persistence_error_ = registrations.error().message;
    spdlog::error("{}; starting with no registered projects", registrations.error().message);
    return events;
  }
  bool changed = false;
  for (core::Registration& registration : *registrations) {
    if (projects_.contains(registration.name)) continue;
    const std::string name = registration.name;
    ProjectPolicy policy = restored_policy(registration, events, changed);
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
  if (changed) (void)persist(registrations_without(""));  // a failure is logged and shown by status
  return events;
}

// The policy a project serves after a restart: the recorded one, whatever its tree holds now. A registration
// from before policies were recorded takes the manifest it finds, once, and says so.
ProjectPolicy ProjectRegistry::restored_policy(core::Registration& registration,
                                               std::vector<nlohmann::json>& events, bool& changed) {
  const core::ManifestReading reading = core::read_manifest(registration.project_path, registration.name);
  if (registration.policy) {
    if (auto drift = find_drift(*registration.policy, reading)) {
      spdlog::warn("project {}: its manifest differs from the approved policy; not applied (see status)",
                   registration.name);
      if (auto event = note_drift(registration, *drift, "start")) {
        events.push_back(std::move(*event));
        changed = true;
      }
    }
    return ProjectPolicy::from_approved(*registration.policy);
  }
  if (!reading.manifest) return ProjectPolicy::failed(reading.manifest.error().message);
  registration.policy = core::ApprovedPolicy::from_manifest(*reading.manifest);
  changed = true;
  spdlog::warn(
      "project {}: no approved policy recorded (a registration from an older version); recorded the "
      "manifest it has now",
      registration.name);
  nlohmann::json event{{"event", audit::kPolicyRecorded},
                       {"project", registration.name},
                       {"reason", "upgrade"},
                       {"manifest_sha256", registration.policy->manifest_sha256},
                       {"allowlist", registration.policy->allowlist}};
  audit::add(events, std::move(event), audit::kAllow, audit::kOk, audit::Clock::now());
  return ProjectPolicy::from_approved(*registration.policy);
}

std::optional<nlohmann::json> ProjectRegistry::note_drift(core::Registration& registration,
                                                          const ManifestDrift& drift,
                                                          std::string_view seen_at) {
  if (registration.reported_manifest == drift.key) return std::nullopt;
  registration.reported_manifest = drift.key;
  return manifest_changed_event(registration.name, drift, seen_at);
}

Result<const RegisteredProject*> ProjectRegistry::add(core::Registration registration,
                                                      const std::optional<std::string>& expected_sha256) {
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
  if (auto reviewed = matches_review(*manifest, expected_sha256); !reviewed)
    return std::move(reviewed).error();
  registration.policy = core::ApprovedPolicy::from_manifest(*manifest);
  registration.reported_manifest.reset();

  RegisteredProject project{
      registration, socket_path_for(name),
      std::make_shared<ProjectState>(name, ProjectPolicy::from_approved(*registration.policy)), nullptr,
      std::nullopt};
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
  if (entry == projects_.end()) return unknown_project(name);
  if (auto persisted = persist(registrations_without(name)); !persisted) return persisted;
  if (entry->second.socket) entry->second.socket->close();
  if (limiter_ != nullptr) limiter_->forget(name);
  projects_.erase(entry);
  return {};
}

Result<ProjectRegistry::Reload> ProjectRegistry::reload(std::string_view name, bool dry_run,
                                                        std::vector<nlohmann::json>& events,
                                                        const std::optional<std::string>& expected_sha256) {
  const auto entry = projects_.find(name);
  if (entry == projects_.end()) return unknown_project(name);
  RegisteredProject& project = entry->second;
  const core::ManifestReading reading = core::read_manifest(project.registration.project_path, name);
  if (!reading.manifest || dry_run) report_drift(project, reading, protocol::op::kReload, events);
  if (!reading.manifest) return reading.manifest.error();
  if (auto reviewed = matches_review(*reading.manifest, expected_sha256); !reviewed) {
    if (!dry_run) report_drift(project, reading, protocol::op::kReload, events);
    return std::move(reviewed).error();
  }

  core::ApprovedPolicy proposed = core::ApprovedPolicy::from_manifest(*reading.manifest);
  Reload outcome{{}, proposed.manifest_sha256, nullptr};
  if (project.registration.policy) outcome.diff = core::diff_policies(*project.registration.policy, proposed);
  if (dry_run) {
    outcome.policy = project.state->policy();
    return outcome;
  }
  if (auto approved = approve(project, std::move(proposed)); !approved) return std::move(approved).error();
  if (!project.socket) {
    if (auto bound = bind_and_start(project); !bound) return std::move(bound).error();
  }
  outcome.policy = project.state->policy();
  return outcome;
}

// Records the new policy first, then serves it: on a failed write the old one stays in force, recorded.
Result<void> ProjectRegistry::approve(RegisteredProject& project, core::ApprovedPolicy policy) {
  core::Registration approved = project.registration;
  approved.policy = std::move(policy);
  approved.reported_manifest.reset();
  std::vector<core::Registration> registrations = registrations_without(approved.name);
  registrations.push_back(approved);
  if (auto persisted = persist(registrations); !persisted) return persisted;
  project.registration = std::move(approved);
  project.state->set_policy(ProjectPolicy::from_approved(*project.registration.policy));
  apply_rate_limits(project);
  return {};
}

void ProjectRegistry::report_drift(RegisteredProject& project, const core::ManifestReading& reading,
                                   std::string_view seen_at, std::vector<nlohmann::json>& events) {
  if (!project.registration.policy) return;
  const auto drift = find_drift(*project.registration.policy, reading);
  if (!drift) return;
  auto event = note_drift(project.registration, *drift, seen_at);
  if (!event) return;
  events.push_back(std::move(*event));
  (void)persist(registrations_without(""));  // best effort: a failure is logged, and status shows it
}

std::optional<ManifestDrift> ProjectRegistry::check_drift(std::string_view name,
                                                          std::vector<nlohmann::json>& events) {
  const auto entry = projects_.find(name);
  if (entry == projects_.end() || !entry->second.registration.policy) return std::nullopt;
  RegisteredProject& project = entry->second;
  const core::ManifestReading reading = core::read_manifest(project.registration.project_path, name);
  report_drift(project, reading, protocol::op::kStatus, events);
  return find_drift(*project.registration.policy, reading);
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
