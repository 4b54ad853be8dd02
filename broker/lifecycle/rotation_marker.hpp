// The record of a bootstrap key rotation under way: state_dir/rotation.json. It holds the two recipients
// (public keys, never an identity) and when the rotation began. Its presence means that secrets.enc and
// claims.enc are encrypted to both recipients (it is written after they are, and removed only after they
// were re-encrypted to the new key alone), so a broker started with either credential can still open them.
//
//   {"format":"remo-broker-rotation","version":1,"old_recipient":"age1...","new_recipient":"age1...",
//    "started_at":"2026-11-22T10:00:00.000000Z"}
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "broker/common/result.hpp"
#include "broker/crypto/age.hpp"

namespace remo::server {

inline constexpr std::string_view kRotationFileName = "rotation.json";

struct PendingRotation {
  crypto::X25519Recipient old_recipient;
  crypto::X25519Recipient new_recipient;
  std::string started_at;  // RFC 3339, as status reports it
};

// std::nullopt when the file does not exist. Errors (internal_error) name the file and the field.
Result<std::optional<PendingRotation>> read_rotation_marker(const std::filesystem::path& file);
// Atomic and durable (core/state_file).
Result<void> write_rotation_marker(const std::filesystem::path& file, const PendingRotation& rotation);
// Unlinks the file and fsyncs its directory. Absent: ok.
Result<void> remove_rotation_marker(const std::filesystem::path& file);

}  // namespace remo::server
