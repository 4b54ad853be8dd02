#include "broker/cli/credential_file.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "broker/cli/io.hpp"
#include "broker/cli/output_file.hpp"
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

// Runs systemd-creds with a pipe as its stdin and one as its stdout; the parent ends are returned.
// argv holds paths and flags only.
struct Child {
  pid_t pid = -1;
  core::UniqueFd to_child;
  core::UniqueFd from_child;
};

Result<Child> spawn_systemd_creds(const std::vector<std::string>& args) {
  int in[2];
  int out[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return Error{"credential", "pipe: " + errno_message()};
  core::UniqueFd in_read(in[0]);
  core::UniqueFd in_write(in[1]);
  if (::pipe2(out, O_CLOEXEC) != 0) return Error{"credential", "pipe: " + errno_message()};
  core::UniqueFd out_read(out[0]);
  core::UniqueFd out_write(out[1]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_read.get(), STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out_write.get(), STDOUT_FILENO);
  std::vector<char*> argv;
  for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));  // NOLINT: execve's type
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int spawned = ::posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0)
    return Error{"credential", "cannot run systemd-creds: " + std::string(std::strerror(spawned))};
  return Child{pid, std::move(in_write), std::move(out_read)};
}

// Reads the child's stdout to EOF into secure memory, at most kMaxCredentialBytes + 1 bytes.
crypto::SecureBuffer drain(Child& child) {
  crypto::SecureBuffer text(kMaxCredentialBytes + 1);
  std::size_t filled = 0;
  while (filled < text.size()) {
    const ssize_t n = ::read(child.from_child.get(), text.data() + filled, text.size() - filled);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    filled += static_cast<std::size_t>(n);
  }
  child.from_child = core::UniqueFd();
  text.truncate(filled);
  return text;
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
  auto child =
      spawn_systemd_creds({"systemd-creds", "decrypt", "--name=" + std::string(kCredentialName), path, "-"});
  if (!child) return std::move(child).error();
  child->to_child = core::UniqueFd();
  crypto::SecureBuffer text = drain(*child);
  if (auto waited = wait_child(child->pid, path); !waited) return std::move(waited).error();
  if (text.size() > kMaxCredentialBytes) return credential_error(path, "larger than 64 KiB");
  return text;
}

// systemd-creds seals the identity from its stdin to its stdout; the sealed bytes are then written like
// any other file the CLI writes, so no step opens a fixed temporary name in the credential directory.
Result<void> seal_with_systemd_creds(const std::string& path, const crypto::SecureBuffer& text) {
  auto child =
      spawn_systemd_creds({"systemd-creds", "encrypt", "--name=" + std::string(kCredentialName), "-", "-"});
  if (!child) return std::move(child).error();
  std::size_t written = 0;
  while (written < text.size()) {  // an identity is far smaller than a pipe's buffer: no deadlock
    const ssize_t n = ::write(child->to_child.get(), text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    written += static_cast<std::size_t>(n);
  }
  child->to_child = core::UniqueFd();  // EOF for systemd-creds
  const crypto::SecureBuffer sealed = drain(*child);
  if (auto waited = wait_child(child->pid, path); !waited) return std::move(waited).error();
  if (written != text.size()) return credential_error(path, "systemd-creds did not read the whole identity");
  if (sealed.size() == 0 || sealed.size() > kMaxCredentialBytes) {
    return credential_error(path, "systemd-creds wrote no sealed credential, or one over 64 KiB");
  }
  if (auto stored = write_file_safely(path, sealed.span(), 0600, ExistingFile::kReplace); !stored) {
    return credential_error(path, stored.error().message);
  }
  return {};
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
  if (auto written = write_file_safely(file.path, text.span(), 0600, ExistingFile::kReplace); !written) {
    return credential_error(file.path, written.error().message);
  }
  return {};
}

}  // namespace remo::cli
