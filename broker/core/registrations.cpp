#include "broker/core/registrations.hpp"

#include <nlohmann/json.hpp>

#include <limits>
#include <set>
#include <string>
#include <utility>

#include "broker/core/manifest.hpp"
#include "broker/core/state_file.hpp"
#include "protocol/codes.hpp"

namespace remo::core {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kRegistrationsVersion = 2;
constexpr int kUnrecordedPoliciesVersion = 1;  // read for the upgrade, never written

class CorruptFile {
 public:
  explicit CorruptFile(const fs::path& file) : prefix_(file.string() + ": corrupt registrations file: ") {}
  Error operator()(const std::string& problem) const {
    return Error{std::string(protocol::code::kInternalError), prefix_ + problem};
  }

 private:
  std::string prefix_;
};

// uid_t and gid_t are 32-bit; (id_t)-1 means "no change" to chown() and is never a real id.
Result<std::uint32_t> parse_id(const json& value, const std::string& where, const CorruptFile& corrupt) {
  if (!value.is_number_unsigned()) return corrupt(where + " must be a non-negative integer");
  const auto id = value.get<std::uint64_t>();
  if (id >= std::numeric_limits<std::uint32_t>::max()) return corrupt(where + " is out of range");
  return static_cast<std::uint32_t>(id);
}

Result<void> parse_recorded_policy(const json& entry, const std::string& where, const CorruptFile& corrupt,
                                   Registration& reg) {
  const auto policy = entry.find("policy");
  if (policy == entry.end()) return corrupt(where + ".policy is missing (null for none recorded)");
  if (policy->is_null()) return {};  // upgraded from version 1 while its manifest could not be read
  auto approved = approved_policy_from_json(*policy, where + ".policy");
  if (!approved) return corrupt(approved.error().message);
  reg.policy = std::move(approved).value();
  const auto reported = entry.find("reported_manifest");
  if (reported != entry.end() && !reported->is_null()) {
    if (!reported->is_string()) return corrupt(where + ".reported_manifest must be a string or null");
    reg.reported_manifest = reported->get<std::string>();
  }
  return {};
}

Result<Registration> parse_registration(const json& entry, const std::string& where, int version,
                                        const CorruptFile& corrupt) {
  if (!entry.is_object()) return corrupt(where + " must be an object");
  for (const auto& [key, value] : entry.items()) {
    const bool policy_key = key == "policy" || key == "reported_manifest";
    if (key != "name" && key != "project_path" && key != "uids" && key != "gid" &&
        !(policy_key && version == kRegistrationsVersion)) {
      return corrupt(where + " has an unknown key \"" + key + "\"");
    }
  }

  Registration reg;
  const auto name = entry.find("name");
  if (name == entry.end() || !name->is_string()) return corrupt(where + ".name must be a string");
  reg.name = name->get<std::string>();
  if (!is_valid_project_name(reg.name)) return corrupt(where + ".name is not a valid project name");

  const auto path = entry.find("project_path");
  if (path == entry.end() || !path->is_string()) return corrupt(where + ".project_path must be a string");
  reg.project_path = path->get<std::string>();
  if (!reg.project_path.is_absolute()) return corrupt(where + ".project_path must be absolute");

  const auto uids = entry.find("uids");
  if (uids == entry.end() || !uids->is_array()) return corrupt(where + ".uids must be an array");
  for (std::size_t i = 0; i < uids->size(); ++i) {
    auto uid = parse_id((*uids)[i], where + ".uids[" + std::to_string(i) + "]", corrupt);
    if (!uid) return std::move(uid).error();
    reg.uids.push_back(static_cast<uid_t>(*uid));
  }

  const auto gid = entry.find("gid");
  if (gid == entry.end()) return corrupt(where + ".gid is missing (null for none)");
  if (!gid->is_null()) {
    auto id = parse_id(*gid, where + ".gid", corrupt);
    if (!id) return std::move(id).error();
    reg.gid = static_cast<gid_t>(*id);
  }
  if (version == kRegistrationsVersion) {
    if (auto recorded = parse_recorded_policy(entry, where, corrupt, reg); !recorded)
      return std::move(recorded).error();
  }
  return reg;
}

}  // namespace

Result<std::vector<Registration>> load_registrations(const fs::path& file) {
  auto bytes = read_file_if_exists(file);
  if (!bytes) return std::move(bytes).error();
  if (!bytes->has_value()) return std::vector<Registration>{};

  const CorruptFile corrupt(file);
  json document;
  try {
    document = json::parse((*bytes)->begin(), (*bytes)->end());
  } catch (const json::parse_error& error) {
    return corrupt("not valid JSON (at byte " + std::to_string(error.byte) + ")");
  }
  if (!document.is_object()) return corrupt("the top level must be an object");
  for (const auto& [key, value] : document.items()) {
    if (key != "version" && key != "projects") return corrupt("unknown top-level key \"" + key + "\"");
  }
  const auto version = document.find("version");
  if (version == document.end() || !version->is_number_integer() ||
      (*version != kRegistrationsVersion && *version != kUnrecordedPoliciesVersion)) {
    return corrupt("\"version\" must be " + std::to_string(kRegistrationsVersion) + " (or " +
                   std::to_string(kUnrecordedPoliciesVersion) + ", from before policies were recorded)");
  }
  const auto projects = document.find("projects");
  if (projects == document.end() || !projects->is_array()) return corrupt("\"projects\" must be an array");

  std::vector<Registration> regs;
  std::set<std::string, std::less<>> names;
  for (std::size_t i = 0; i < projects->size(); ++i) {
    const std::string where = "projects[" + std::to_string(i) + "]";
    auto reg = parse_registration((*projects)[i], where, version->get<int>(), corrupt);
    if (!reg) return std::move(reg).error();
    if (!names.insert(reg->name).second)
      return corrupt(where + ".name \"" + reg->name + "\" is registered twice");
    regs.push_back(std::move(reg).value());
  }
  return regs;
}

Result<void> save_registrations(const fs::path& file, const std::vector<Registration>& regs) {
  json projects = json::array();
  for (const Registration& reg : regs) {
    projects.push_back(
        {{"name", reg.name},
         {"project_path", reg.project_path.string()},
         {"uids", reg.uids},
         {"gid", reg.gid ? json(*reg.gid) : json(nullptr)},
         {"policy", reg.policy ? to_json(*reg.policy) : json(nullptr)},
         {"reported_manifest", reg.reported_manifest ? json(*reg.reported_manifest) : json(nullptr)}});
  }
  const json document = {{"version", kRegistrationsVersion}, {"projects", std::move(projects)}};
  std::string text;
  try {
    text = document.dump(2) + "\n";
  } catch (const json::type_error&) {  // a string that is not UTF-8 (a project path, in practice)
    return Error{std::string(protocol::code::kInternalError),
                 file.string() + ": a registration holds text that is not valid UTF-8"};
  }
  return write_file_atomically(file, text, 0600);
}

}  // namespace remo::core
