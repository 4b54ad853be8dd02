#include "broker/lifecycle/bundle_signature.hpp"

#include <string>
#include <string_view>
#include <utility>

#include "broker/core/state_file.hpp"
#include "protocol/codes.hpp"

namespace remo::server {
namespace {

constexpr std::size_t kMaxAllowedSignersBytes = 1024 * 1024;

Error config_error(const std::filesystem::path& file, std::string_view why) {
  return Error{"config", "allowed_signers " + file.string() + ": " + std::string(why)};
}

}  // namespace

Result<crypto::AllowedSigners> load_allowed_signers(const std::filesystem::path& file) {
  auto bytes = core::read_file_if_exists(file);
  if (!bytes) return config_error(file, bytes.error().message);
  if (!bytes->has_value()) return config_error(file, "no such file");
  if ((*bytes)->size() > kMaxAllowedSignersBytes) return config_error(file, "larger than 1 MiB");
  const std::string_view text(reinterpret_cast<const char*>((*bytes)->data()),  // NOLINT: text of bytes
                              (*bytes)->size());
  auto signers = crypto::parse_allowed_signers(text);
  if (!signers) return config_error(file, signers.error().message);
  if (signers->signers.empty()) {
    return config_error(file, "no ssh-ed25519 key in it, so no bundle could ever be accepted");
  }
  return signers;
}

Result<std::optional<crypto::SignerMatch>> check_bundle_signature(
    const Json* signature, std::span<const std::uint8_t> ciphertext,
    const std::optional<crypto::AllowedSigners>& allowed) {
  if (!allowed) return std::optional<crypto::SignerMatch>{};
  if (signature == nullptr) {
    return Error{std::string(protocol::code::kSignatureInvalid),
                 "missing signature: this broker accepts only signed bundles; sign the ciphertext with "
                 "`ssh-keygen -Y sign -n remo-broker -f KEY` and send the armored text in 'signature'"};
  }
  if (!signature->is_string()) return protocol_error("field 'signature' must be a string");
  const std::string& armored = signature->get_ref<const std::string&>();
  if (armored.find('\0') != std::string::npos) return protocol_error("field 'signature' contains a NUL");
  auto signer = crypto::verify_ssh_signature(ciphertext, armored, *allowed);
  if (!signer) {
    return Error{std::string(protocol::code::kSignatureInvalid),
                 "bundle signature rejected: " + signer.error().message};
  }
  return std::optional<crypto::SignerMatch>(std::move(*signer));
}

}  // namespace remo::server
