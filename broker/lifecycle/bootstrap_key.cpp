#include "broker/lifecycle/bootstrap_key.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "broker/core/unique_fd.hpp"
#include "broker/crypto/secure_buffer.hpp"
#include "broker/transport/errno_text.hpp"
#include "protocol/codes.hpp"

namespace remo::server {
namespace {

Error key_error(const std::filesystem::path& file, const std::string& problem) {
  return Error{std::string(protocol::code::kBootstrapError),
               "bootstrap key " + file.string() + ": " + problem};
}

}  // namespace

Result<BootstrapKey> load_bootstrap_key(const std::filesystem::path& file) {
  const core::UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd) return key_error(file, errno_text());
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) return key_error(file, errno_text());
  if (!S_ISREG(info.st_mode)) return key_error(file, "not a regular file");

  // One byte more than allowed, so a file that grew since fstat is still refused.
  crypto::SecureBuffer text(kMaxBootstrapKeyBytes + 1);
  std::size_t filled = 0;
  while (filled < text.size()) {
    const ssize_t n = ::read(fd.get(), text.data() + filled, text.size() - filled);
    if (n < 0) {
      if (errno == EINTR) continue;
      return key_error(file, errno_text());
    }
    if (n == 0) break;
    filled += static_cast<std::size_t>(n);
  }
  if (filled > kMaxBootstrapKeyBytes) return key_error(file, "larger than 64 KiB; not an age identity file");
  text.truncate(filled);

  auto identities = crypto::parse_identity_file(text.view());
  if (!identities) return key_error(file, "not an age X25519 identity file (AGE-SECRET-KEY-1...)");
  if (identities->empty()) return key_error(file, "holds no identity");
  return BootstrapKey{std::move(*identities), (info.st_mode & 077U) != 0};
}

}  // namespace remo::server
