#include "broker/lifecycle/rotation_marker.hpp"

#include <nlohmann/json.hpp>

#include <string>

#include "broker/core/state_file.hpp"
#include "protocol/codes.hpp"

namespace remo::server {
namespace {

constexpr std::string_view kFormat = "remo-broker-rotation";
constexpr int kVersion = 1;

Error corrupt(const std::filesystem::path& file, const std::string& problem) {
  return Error{std::string(protocol::code::kInternalError),
               file.string() + ": corrupt rotation record: " + problem};
}

}  // namespace

Result<std::optional<PendingRotation>> read_rotation_marker(const std::filesystem::path& file) {
  auto bytes = core::read_file_if_exists(file);
  if (!bytes) return std::move(bytes).error();
  if (!bytes->has_value()) return std::optional<PendingRotation>();
  const auto json = nlohmann::json::parse((*bytes)->begin(), (*bytes)->end(), nullptr, false);
  if (!json.is_object()) return corrupt(file, "not a JSON object");
  if (json.value("format", "") != kFormat)
    return corrupt(file, "field 'format' is not " + std::string(kFormat));
  if (!json.contains("version") || json["version"] != kVersion) return corrupt(file, "unsupported 'version'");
  PendingRotation rotation;
  for (auto [key, target] : {std::pair{"old_recipient", &rotation.old_recipient},
                             std::pair{"new_recipient", &rotation.new_recipient}}) {
    if (!json.contains(key) || !json[key].is_string())
      return corrupt(file, std::string("field '") + key + "' missing");
    auto parsed = crypto::X25519Recipient::parse(json[key].get<std::string>());
    if (!parsed) return corrupt(file, std::string("field '") + key + "' is not an age recipient");
    *target = *parsed;
  }
  if (!json.contains("started_at") || !json["started_at"].is_string()) {
    return corrupt(file, "field 'started_at' missing");
  }
  rotation.started_at = json["started_at"].get<std::string>();
  return std::optional<PendingRotation>(std::move(rotation));
}

Result<void> write_rotation_marker(const std::filesystem::path& file, const PendingRotation& rotation) {
  const nlohmann::json json{{"format", kFormat},
                            {"version", kVersion},
                            {"old_recipient", rotation.old_recipient.encode()},
                            {"new_recipient", rotation.new_recipient.encode()},
                            {"started_at", rotation.started_at}};
  return core::write_file_atomically(file, json.dump() + "\n", 0600);
}

Result<void> remove_rotation_marker(const std::filesystem::path& file) {
  // Nothing secret inside, but shred_file is the one helper that unlinks durably (fsyncs the directory).
  return core::shred_file(file);
}

}  // namespace remo::server
