// ProjectRegistry: the registered projects, their sockets, and registrations.json. Control plane only:
// every member function runs on the control-plane thread (or at start-up and shutdown, before and after
// it runs). Sessions never touch the registry; they read their project's ProjectState.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "broker/common/result.hpp"
#include "broker/core/rate_limiter.hpp"
#include "broker/core/registrations.hpp"
#include "broker/lifecycle/manifest_drift.hpp"
#include "broker/lifecycle/project_state.hpp"
#include "broker/transport/project_socket.hpp"

namespace remo::server {

// The socket directory holds admin.sock and one <project>.sock per project, so "admin" is not a project.
inline constexpr std::string_view kAdminSocketName = "admin";
inline constexpr std::string_view kSocketSuffix = ".sock";

class ProjectSocketFactory {
 public:
  virtual ~ProjectSocketFactory() = default;
  // Binds and listens on socket_path (mode 0660, group registration.gid when set; a stale socket file is
  // replaced). Sessions are served by ProjectOps over state once start() is called.
  virtual Result<std::shared_ptr<ProjectSocket>> bind(const core::Registration& registration,
                                                      const std::filesystem::path& socket_path,
                                                      std::shared_ptr<const ProjectState> state) = 0;
};

struct RegisteredProject {
  core::Registration registration;
  std::filesystem::path socket_path;
  std::shared_ptr<ProjectState> state;
  std::shared_ptr<ProjectSocket> socket;    // null when binding failed at start-up
  std::optional<std::string> socket_error;  // why

  // The manifest or socket problem status reports for this project, if any.
  std::optional<std::string> error() const;
};

class ProjectRegistry {
 public:
  // limiter, when given, gets each project's limits (the broker default tightened by the manifest's
  // [limits]) whenever its policy is loaded, and forgets the project when it is unregistered.
  ProjectRegistry(std::filesystem::path socket_dir, std::filesystem::path registrations_file,
                  ProjectSocketFactory& sockets, core::RateLimiter* limiter = nullptr);
  ~ProjectRegistry();
  ProjectRegistry(const ProjectRegistry&) = delete;
  ProjectRegistry& operator=(const ProjectRegistry&) = delete;

  // Start-up: loads registrations.json and binds every project in it, serving each its recorded policy:
  // a manifest that differs is only reported (a manifest.changed event, once per distinct content). A
  // registration with no recorded policy (from an older version) records its manifest now (policy.recorded,
  // reason "upgrade"). A project whose socket fails, or with no policy and no valid manifest, stays
  // registered with its error (reported by status, retried by reload); a corrupt file is reported by
  // persistence_error() and treated as empty. Returns the audit events to record.
  std::vector<nlohmann::json> restore();

  // register: loads the manifest and records it as the approved policy, binds the socket, persists the
  // registrations, then starts accepting. Errors (nothing changed): project_exists, protocol_error (the
  // reserved name "admin"), manifest_not_found, manifest_invalid, internal_error.
  Result<const RegisteredProject*> add(core::Registration registration,
                                       const std::optional<std::string>& expected_sha256 = std::nullopt);

  // unregister: persists the registrations without the project, then closes its socket (cutting its
  // connections) and removes the socket file. Errors: project_unknown, internal_error (nothing changed).
  Result<void> remove(std::string_view name);

  struct Reload {
    core::PolicyDiff diff;                        // from the approved policy to the manifest read
    std::string manifest_sha256;                  // of the manifest read
    std::shared_ptr<const ProjectPolicy> policy;  // in force now
  };
  // reload: re-reads the manifest, records it as the approved policy, then swaps the served policy
  // atomically; the socket stays up (and is bound again if it failed at start-up). dry_run: only the diff,
  // nothing changes. A manifest that is invalid, gone, or only looked at (dry_run) and differs is reported
  // into events once (manifest.changed). Errors: project_unknown, manifest_not_found, manifest_invalid,
  // internal_error (the approved policy stays in force and recorded).
  // expected_sha256, when given, is the manifest the admin reviewed: a manifest read now with another
  // SHA-256 is refused (manifest_invalid) and nothing is approved.
  Result<Reload> reload(std::string_view name, bool dry_run, std::vector<nlohmann::json>& events,
                        const std::optional<std::string>& expected_sha256 = std::nullopt);

  // How the project's manifest differs from its approved policy now (nullopt: it does not, or the project
  // has no approved policy); a difference seen for the first time is reported into events.
  std::optional<ManifestDrift> check_drift(std::string_view name, std::vector<nlohmann::json>& events);

  // Shutdown, in two steps: drain_all() stops accepting and lets connections finish what they have
  // received; close_all() then cuts what is left and removes the socket files.
  void drain_all();
  void close_all();

  const std::map<std::string, RegisteredProject, std::less<>>& projects() const noexcept { return projects_; }
  std::filesystem::path socket_path_for(std::string_view name) const;
  // Why registrations.json could not be read at start-up or written since; cleared by the next write.
  const std::optional<std::string>& persistence_error() const noexcept { return persistence_error_; }

 private:
  Result<void> persist(const std::vector<core::Registration>& registrations);
  std::vector<core::Registration> registrations_without(std::string_view name) const;
  Result<void> bind_and_start(RegisteredProject& project);
  void apply_rate_limits(const RegisteredProject& project);
  ProjectPolicy restored_policy(core::Registration& registration, std::vector<nlohmann::json>& events,
                                bool& changed);
  // The manifest.changed event for a drift not reported before (and marks it reported); nullopt if it was.
  static std::optional<nlohmann::json> note_drift(core::Registration& registration,
                                                  const ManifestDrift& drift, std::string_view seen_at);
  void report_drift(RegisteredProject& project, const core::ManifestReading& reading,
                    std::string_view seen_at, std::vector<nlohmann::json>& events);
  Result<void> approve(RegisteredProject& project, core::ApprovedPolicy policy);

  std::filesystem::path socket_dir_;
  std::filesystem::path registrations_file_;
  ProjectSocketFactory& sockets_;
  core::RateLimiter* limiter_;
  std::map<std::string, RegisteredProject, std::less<>> projects_;
  std::optional<std::string> persistence_error_;
};

}  // namespace remo::server
