#include "broker/cli/credential_file.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "broker/cli/io.hpp"
#include "broker/core/state_file.hpp"
#include "broker/core/unique_fd.hpp"
#include "broker/crypto/secure_buffer.hpp"

extern char** environ;

namespace remo::cli {
namespace {

constexpr std::string_view kCredentialName = "bootstrap-key";  // --name: must match LoadCredentialEncrypted=
constexpr std::size_t kMaxCredentialBytes = 64 * 1024;

Error credential_error(const std::string& path, const std::string& problem) {
  return Error{"credential", "credential file " + path + ": " + problem};
}

std::string errno_message() { return std::strerror(errno); }

// Runs systemd-creds with one end of a pipe as its stdin (feed) or stdout (drain); the other end is
// returned. argv holds paths and flags only.
struct Child {
  pid_t pid = -1;
  core::UniqueFd pipe;
};

Result<Child> spawn_systemd_creds(const std::vector<std::string>& args, bool child_reads_stdin) {
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) return Error{"credential", "pipe: " + errno_message()};
  core::UniqueFd read_end(ends[0]);
  core::UniqueFd write_end(ends[1]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (child_reads_stdin) {
    posix_spawn_file_actions_adddup2(&actions, read_end.get(), STDIN_FILENO);
  } else {
    posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDOUT_FILENO);
  }
  std::vector<char*> argv;
  for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));  // NOLINT: execve's type
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int spawned = ::posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0)
    return Error{"credential", "cannot run systemd-creds: " + std::string(std::strerror(spawned))};
  return Child{pid, child_reads_stdin ? std::move(write_end) : std::move(read_end)};
}

Result<void> wait_child(pid_t pid, const std::string& path) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return credential_error(path, "waitpid: " + errno_message());
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return credential_error(path, "systemd-creds failed (see its message above)");
  }
  return {};
}

Result<crypto::SecureBuffer> decrypt_with_systemd_creds(const std::string& path) {
  auto child = spawn_systemd_creds(
      {"systemd-creds", "decrypt", "--name=" + std::string(kCredentialName), path, "-"}, false);
  if (!child) return std::move(child).error();
  crypto::SecureBuffer text(kMaxCredentialBytes + 1);
  std::size_t filled = 0;
  while (filled < text.size()) {
    const ssize_t n = ::read(child->pipe.get(), text.data() + filled, text.size() - filled);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    filled += static_cast<std::size_t>(n);
  }
  child->pipe = core::UniqueFd();
  if (auto waited = wait_child(child->pid, path); !waited) return std::move(waited).error();
  if (filled > kMaxCredentialBytes) return credential_error(path, "larger than 64 KiB");
  text.truncate(filled);
  return text;
}

Result<void> fsync_path(const std::string& path, int flags) {
  const core::UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC));
  if (!fd || ::fsync(fd.get()) != 0) return credential_error(path, "fsync: " + errno_message());
  return {};
}

Result<void> seal_with_systemd_creds(const std::string& path, const crypto::SecureBuffer& text) {
  const std::string temp = path + ".rotate-tmp";
  ::unlink(temp.c_str());
  auto child = spawn_systemd_creds(
      {"systemd-creds", "encrypt", "--name=" + std::string(kCredentialName), "-", temp}, true);
  if (!child) return std::move(child).error();
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(child->pipe.get(), text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    written += static_cast<std::size_t>(n);
  }
  child->pipe = core::UniqueFd();  // EOF for systemd-creds
  auto waited = wait_child(child->pid, path);
  if (!waited || written != text.size()) {
    ::unlink(temp.c_str());
    return waited ? credential_error(path, "systemd-creds did not read the whole identity")
                  : std::move(waited).error();
  }
  if (auto synced = fsync_path(temp, O_RDONLY); !synced) return synced;
  if (::chmod(temp.c_str(), 0600) != 0 || ::rename(temp.c_str(), path.c_str()) != 0) {
    ::unlink(temp.c_str());
    return credential_error(path, "cannot replace it: " + errno_message());
  }
  const auto dir = std::filesystem::path(path).parent_path();
  return fsync_path(dir.empty() ? "." : dir.string(), O_RDONLY | O_DIRECTORY);
}

}  // namespace

Result<crypto::X25519Identity> read_credential(const CredentialFile& file) {
  auto text = file.systemd_creds ? decrypt_with_systemd_creds(file.path) : read_secret(file.path);
  if (!text) return credential_error(file.path, text.error().message);
  auto identities = crypto::parse_identity_file(text->view());
  if (!identities)
    return credential_error(file.path, "not an age X25519 identity file (AGE-SECRET-KEY-1...)");
  if (identities->empty()) return credential_error(file.path, "holds no identity");
  return std::move(identities->front());
}

Result<void> write_credential(const CredentialFile& file, const crypto::X25519Identity& identity) {
  const crypto::SecureBuffer text = crypto::format_identity_file(identity);
  if (file.systemd_creds) return seal_with_systemd_creds(file.path, text);
  if (auto written = core::write_file_atomically(file.path, text.span(), 0600); !written) {
    return credential_error(file.path, written.error().message);
  }
  return {};
}

}  // namespace remo::cli
