#include "broker/core/manifest.hpp"

#include <gtest/gtest.h>

#include <string>

#include "tests/unit/core/temp_dir.hpp"

namespace remo::core {
namespace {

using testing::TempDir;
using testing::write_text;

constexpr std::string_view kValid = R"(schema_version = 1
[project]
name = "myrepo"
description = "demo project"
[allowlist]
secrets = ["GITHUB_TOKEN", "NPM_TOKEN"]
[cache]
ttl_seconds = 300
max_entries = 16
)";

std::string minimal_with(std::string_view extra_top, std::string_view project_extra = "",
                         std::string_view allowlist = "secrets = []", std::string_view tail = "") {
  std::string text = "schema_version = 1\n";
  text += extra_top;
  text += "\n[project]\nname = \"myrepo\"\n";
  text += project_extra;
  text += "\n[allowlist]\n";
  text += allowlist;
  text += "\n";
  text += tail;
  return text;
}

// Expects manifest_invalid with every fragment in the message.
void expect_invalid(std::string_view text, std::initializer_list<std::string_view> fragments,
                    std::string_view expected_name = "myrepo") {
  const auto result = parse_manifest(text, expected_name);
  ASSERT_FALSE(result.ok()) << text;
  EXPECT_EQ(result.error().code, "manifest_invalid");
  for (const auto fragment : fragments) {
    EXPECT_NE(result.error().message.find(fragment), std::string::npos)
        << "missing \"" << fragment << "\" in: " << result.error().message;
  }
}

TEST(Manifest, ValidManifestYieldsEveryField) {
  const auto manifest = parse_manifest(kValid, "myrepo");
  ASSERT_TRUE(manifest.ok()) << manifest.error().message;
  EXPECT_EQ(manifest->name, "myrepo");
  EXPECT_EQ(manifest->description, "demo project");
  EXPECT_EQ(manifest->allowlist, (std::vector<std::string>{"GITHUB_TOKEN", "NPM_TOKEN"}));
  EXPECT_EQ(manifest->cache_ttl_seconds, 300);
  EXPECT_EQ(manifest->cache_max_entries, 16);
}

TEST(Manifest, MinimalManifestWithEmptyAllowlistDeniesEverything) {
  const auto manifest = parse_manifest(minimal_with(""), "myrepo");
  ASSERT_TRUE(manifest.ok()) << manifest.error().message;
  EXPECT_TRUE(manifest->allowlist.empty());
  EXPECT_TRUE(manifest->description.empty());
  EXPECT_FALSE(manifest->cache_ttl_seconds.has_value());
  EXPECT_FALSE(manifest->cache_max_entries.has_value());
  EXPECT_FALSE(manifest->allows("GITHUB_TOKEN"));
  EXPECT_FALSE(manifest->allows(""));
}

TEST(Manifest, AllowsExactlyTheListedNames) {
  const auto manifest = parse_manifest(kValid, "myrepo");
  ASSERT_TRUE(manifest.ok());
  EXPECT_TRUE(manifest->allows("GITHUB_TOKEN"));
  EXPECT_TRUE(manifest->allows("NPM_TOKEN"));
  EXPECT_FALSE(manifest->allows("github_token"));
  EXPECT_FALSE(manifest->allows("GITHUB_TOKEN2"));
  EXPECT_FALSE(manifest->allows("GITHUB"));
}

TEST(Manifest, InlineTablesAreAsGoodAsSections) {
  const auto manifest = parse_manifest(
      "schema_version = 1\nproject = { name = \"myrepo\" }\nallowlist = { secrets = [\"A\"] }\n", "myrepo");
  ASSERT_TRUE(manifest.ok()) << manifest.error().message;
  EXPECT_TRUE(manifest->allows("A"));
}

TEST(Manifest, CacheTableMayOmitEitherKey) {
  const auto manifest =
      parse_manifest(minimal_with("", "", "secrets = []", "[cache]\nttl_seconds = 5\n"), "myrepo");
  ASSERT_TRUE(manifest.ok()) << manifest.error().message;
  EXPECT_EQ(manifest->cache_ttl_seconds, 5);
  EXPECT_FALSE(manifest->cache_max_entries.has_value());
}

TEST(Manifest, LimitsTableIsOptionalAndEachKeyToo) {
  auto none = parse_manifest(minimal_with("", "", "secrets = []"), "myrepo");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->limits.requests_per_second.has_value());
  EXPECT_FALSE(none->limits.burst.has_value());
  auto both = parse_manifest(
      minimal_with("", "", "secrets = []", "[limits]\nrequests_per_second = 5\nburst = 10\n"), "myrepo");
  ASSERT_TRUE(both.ok()) << both.error().message;
  EXPECT_EQ(both->limits.requests_per_second, 5);
  EXPECT_EQ(both->limits.burst, 10);
  auto burst_only = parse_manifest(minimal_with("", "", "secrets = []", "[limits]\nburst = 1\n"), "myrepo");
  ASSERT_TRUE(burst_only.ok());
  EXPECT_FALSE(burst_only->limits.requests_per_second.has_value());
  EXPECT_EQ(burst_only->limits.burst, 1);
}

TEST(Manifest, BadLimitsAreNamed) {
  expect_invalid(minimal_with("", "", "secrets = []", "[limits]\nrequests_per_second = 0\n"),
                 {"limits.requests_per_second", "out of range 1..1000000"});
  expect_invalid(minimal_with("", "", "secrets = []", "[limits]\nburst = 1000001\n"),
                 {"limits.burst", "out of range"});
  expect_invalid(minimal_with("", "", "secrets = []", "[limits]\nburst = -3\n"), {"limits.burst"});
  expect_invalid(minimal_with("", "", "secrets = []", "[limits]\nrequests_per_second = 2.5\n"),
                 {"limits.requests_per_second", "got a float"});
  expect_invalid(minimal_with("", "", "secrets = []", "[limits]\nburst = \"10\"\n"),
                 {"limits.burst", "expected an integer"});
  expect_invalid(minimal_with("", "", "secrets = []", "[limits]\nper_minute = 3\n"), {"limits.per_minute"});
  expect_invalid(minimal_with("limits = 3"), {"limits", "expected a table, got an integer"});
}

TEST(Manifest, UnknownTopLevelKeyIsNamed) {
  expect_invalid(minimal_with("colour = \"blue\""), {"colour", "unknown key"});
}

TEST(Manifest, UnknownTableIsNamed) {
  expect_invalid(minimal_with("", "", "secrets = []", "[extras]\nx = 1\n"), {"[extras]", "unknown table"});
}

TEST(Manifest, UnknownKeyInEachTableIsNamedWithItsPath) {
  expect_invalid(minimal_with("", "owner = \"me\""), {"project.owner", "unknown key"});
  expect_invalid(minimal_with("", "", "secrets = []\ndeny = []"), {"allowlist.deny"});
  expect_invalid(minimal_with("", "", "secrets = []", "[cache]\nsize = 3\n"), {"cache.size"});
  expect_invalid(minimal_with("", "", "secrets = []", "[cache.inner]\n"), {"[cache.inner]", "unknown table"});
}

TEST(Manifest, UnknownKeyWithOddCharactersIsQuotedSafely) {
  const auto result = parse_manifest(minimal_with("\"we\\u0001ird\\\"key\" = 1"), "myrepo");
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("\"we?ird?key\""), std::string::npos) << result.error().message;
}

TEST(Manifest, SchemaVersionMustBeTheInteger1) {
  expect_invalid("schema_version = 2\n[project]\nname = \"myrepo\"\n[allowlist]\nsecrets = []\n",
                 {"schema_version", "unsupported version 2"});
  expect_invalid("schema_version = \"1\"\n[project]\nname = \"myrepo\"\n[allowlist]\nsecrets = []\n",
                 {"schema_version", "expected an integer, got a string"});
  expect_invalid("schema_version = 1.0\n[project]\nname = \"myrepo\"\n[allowlist]\nsecrets = []\n",
                 {"schema_version", "got a float"});
}

TEST(Manifest, MissingRequiredKeysAreNamed) {
  expect_invalid("[project]\nname = \"myrepo\"\n[allowlist]\nsecrets = []\n", {"schema_version", "missing"});
  expect_invalid("schema_version = 1\n[allowlist]\nsecrets = []\n", {"project", "missing"});
  expect_invalid("schema_version = 1\n[project]\ndescription = \"x\"\n[allowlist]\nsecrets = []\n",
                 {"project.name", "missing"});
  expect_invalid("schema_version = 1\n[project]\nname = \"myrepo\"\n", {"allowlist", "missing"});
  expect_invalid("schema_version = 1\n[project]\nname = \"myrepo\"\n[allowlist]\n",
                 {"allowlist.secrets", "missing"});
}

TEST(Manifest, WrongTypesAreNamedWithTheirPath) {
  expect_invalid("schema_version = 1\nproject = \"myrepo\"\n[allowlist]\nsecrets = []\n",
                 {"project", "expected a table, got a string"});
  expect_invalid("schema_version = 1\n[project]\nname = 7\n[allowlist]\nsecrets = []\n",
                 {"project.name", "expected a string, got an integer"});
  expect_invalid(minimal_with("", "description = [\"x\"]"), {"project.description", "got an array"});
  expect_invalid(minimal_with("", "", "secrets = \"A\""),
                 {"allowlist.secrets", "expected an array, got a string"});
  expect_invalid(minimal_with("", "", "secrets = [\"A\", 2]"), {"allowlist.secrets[1]", "got an integer"});
  expect_invalid(minimal_with("", "", "secrets = [[\"A\"]]"), {"allowlist.secrets[0]", "got an array"});
  expect_invalid(minimal_with("", "", "secrets = []", "[cache]\nttl_seconds = \"60\"\n"),
                 {"cache.ttl_seconds", "expected an integer"});
  expect_invalid(minimal_with("", "", "secrets = []", "[cache]\nmax_entries = 1.5\n"),
                 {"cache.max_entries", "got a float"});
  expect_invalid(minimal_with("", "", "secrets = []", "[[cache]]\nttl_seconds = 1\n"),
                 {"cache", "expected a table, got an array"});
}

TEST(Manifest, DuplicateSecretIsNamedWithItsIndex) {
  expect_invalid(minimal_with("", "", "secrets = [\"A\", \"B\", \"A\"]"),
                 {"allowlist.secrets[2]", "\"A\"", "twice"});
}

TEST(Manifest, InvalidSecretNameInAllowlistIsNamed) {
  expect_invalid(minimal_with("", "", "secrets = [\"A\", \"not-valid\"]"),
                 {"allowlist.secrets[1]", "not a valid secret name"});
  expect_invalid(minimal_with("", "", "secrets = [\"\"]"), {"allowlist.secrets[0]"});
  expect_invalid(minimal_with("", "", "secrets = [\"" + std::string(129, 'A') + "\"]"),
                 {"allowlist.secrets[0]"});
}

TEST(Manifest, ProjectNameMustEqualTheRegisteredName) {
  expect_invalid(kValid, {"project.name", "\"myrepo\"", "\"other\""}, "other");
}

TEST(Manifest, ProjectNameMustMatchThePattern) {
  const std::string text = "schema_version = 1\n[project]\nname = \"MyRepo\"\n[allowlist]\nsecrets = []\n";
  expect_invalid(text, {"project.name", "not a valid project name"}, "MyRepo");
}

TEST(Manifest, CacheValuesAreRangeChecked) {
  const auto cache = [](std::string_view body) { return minimal_with("", "", "secrets = []", body); };
  expect_invalid(cache("[cache]\nttl_seconds = 0\n"), {"cache.ttl_seconds", "out of range 1..86400"});
  expect_invalid(cache("[cache]\nttl_seconds = 86401\n"), {"cache.ttl_seconds"});
  expect_invalid(cache("[cache]\nttl_seconds = -5\n"), {"cache.ttl_seconds"});
  expect_invalid(cache("[cache]\nmax_entries = 0\n"), {"cache.max_entries", "out of range 1..1024"});
  expect_invalid(cache("[cache]\nmax_entries = 1025\n"), {"cache.max_entries"});

  const auto low = parse_manifest(cache("[cache]\nttl_seconds = 1\nmax_entries = 1\n"), "myrepo");
  ASSERT_TRUE(low.ok()) << low.error().message;
  const auto high = parse_manifest(cache("[cache]\nttl_seconds = 86400\nmax_entries = 1024\n"), "myrepo");
  ASSERT_TRUE(high.ok()) << high.error().message;
  EXPECT_EQ(high->cache_ttl_seconds, 86400);
  EXPECT_EQ(high->cache_max_entries, 1024);
}

TEST(Manifest, TomlSyntaxErrorIsManifestInvalidWithPosition) {
  expect_invalid("schema_version = 1\n[project\n", {"not valid TOML", "line 2"});
}

TEST(Manifest, ProjectNameValidationFollowsThePattern) {
  EXPECT_TRUE(is_valid_project_name("a"));
  EXPECT_TRUE(is_valid_project_name("0repo"));
  EXPECT_TRUE(is_valid_project_name("my-repo_2"));
  EXPECT_TRUE(is_valid_project_name(std::string(64, 'a')));
  EXPECT_FALSE(is_valid_project_name(std::string(65, 'a')));
  EXPECT_FALSE(is_valid_project_name(""));
  EXPECT_FALSE(is_valid_project_name("-repo"));
  EXPECT_FALSE(is_valid_project_name("_repo"));
  EXPECT_FALSE(is_valid_project_name("Repo"));
  EXPECT_FALSE(is_valid_project_name("my.repo"));
  EXPECT_FALSE(is_valid_project_name("my/repo"));
  EXPECT_FALSE(is_valid_project_name(".."));
}

class ManifestFile : public ::testing::Test {
 protected:
  std::filesystem::path project() const { return dir_ / "myrepo"; }
  std::filesystem::path devcontainer_manifest() const {
    return project() / ".devcontainer" / "remo-broker.toml";
  }
  std::filesystem::path remo_manifest() const { return project() / ".remo" / "broker.toml"; }
  void SetUp() override { std::filesystem::create_directories(project()); }

  TempDir dir_;
};

TEST_F(ManifestFile, MissingManifestNamesBothPlacesLookedAt) {
  const auto result = load_manifest(project(), "myrepo");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "manifest_not_found");
  EXPECT_NE(result.error().message.find(devcontainer_manifest().string()), std::string::npos);
  EXPECT_NE(result.error().message.find(remo_manifest().string()), std::string::npos);
}

TEST_F(ManifestFile, DevcontainerManifestIsLoadedAndRecordsItsSource) {
  write_text(devcontainer_manifest(), kValid);
  const auto manifest = load_manifest(project(), "myrepo");
  ASSERT_TRUE(manifest.ok()) << manifest.error().message;
  EXPECT_EQ(manifest->source, devcontainer_manifest());
  EXPECT_TRUE(manifest->allows("NPM_TOKEN"));
}

TEST_F(ManifestFile, RemoDirectoryIsTheFallback) {
  write_text(remo_manifest(), kValid);
  const auto manifest = load_manifest(project(), "myrepo");
  ASSERT_TRUE(manifest.ok()) << manifest.error().message;
  EXPECT_EQ(manifest->source, remo_manifest());
}

TEST_F(ManifestFile, DevcontainerManifestWinsOverRemo) {
  write_text(devcontainer_manifest(), minimal_with(""));
  write_text(remo_manifest(), kValid);
  const auto manifest = load_manifest(project(), "myrepo");
  ASSERT_TRUE(manifest.ok());
  EXPECT_EQ(manifest->source, devcontainer_manifest());
  EXPECT_TRUE(manifest->allowlist.empty());
}

TEST_F(ManifestFile, InvalidDevcontainerManifestDoesNotFallBackAndNamesTheFile) {
  write_text(devcontainer_manifest(), "schema_version = 3\n");
  write_text(remo_manifest(), kValid);
  const auto result = load_manifest(project(), "myrepo");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "manifest_invalid");
  EXPECT_NE(result.error().message.find(devcontainer_manifest().string()), std::string::npos);
}

TEST_F(ManifestFile, OversizedManifestIsRefused) {
  std::string text(kValid);
  text += std::string(64 * 1024 - text.size() - 1, '#') + "\n";  // exactly 64 KiB: still accepted
  write_text(remo_manifest(), text);
  ASSERT_TRUE(load_manifest(project(), "myrepo").ok());

  write_text(remo_manifest(), text + "\n");
  const auto result = load_manifest(project(), "myrepo");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "manifest_invalid");
  EXPECT_NE(result.error().message.find("64 KiB"), std::string::npos) << result.error().message;
}

TEST_F(ManifestFile, NonRegularManifestIsRefused) {
  std::filesystem::create_directories(devcontainer_manifest());
  const auto result = load_manifest(project(), "myrepo");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "manifest_invalid");
  EXPECT_NE(result.error().message.find("not a regular file"), std::string::npos) << result.error().message;
}

TEST_F(ManifestFile, SymlinkedManifestIsNotFollowed) {
  write_text(dir_ / "elsewhere.toml", kValid);
  std::filesystem::create_directories(devcontainer_manifest().parent_path());
  std::filesystem::create_symlink(dir_ / "elsewhere.toml", devcontainer_manifest());
  const auto result = load_manifest(project(), "myrepo");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "manifest_invalid");
  EXPECT_NE(result.error().message.find("symbolic link"), std::string::npos) << result.error().message;
}

TEST_F(ManifestFile, SymlinkedManifestDirectoryIsNotFollowed) {
  const auto other = dir_ / "other" / ".devcontainer";
  write_text(other / "remo-broker.toml", kValid);
  std::filesystem::create_directory_symlink(other, project() / ".devcontainer");
  const auto result = load_manifest(project(), "myrepo");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "manifest_invalid");
  EXPECT_NE(result.error().message.find("symbolic link"), std::string::npos) << result.error().message;
}

TEST_F(ManifestFile, HardLinkedManifestIsRefused) {
  write_text(dir_ / "elsewhere.toml", kValid);
  std::filesystem::create_directories(devcontainer_manifest().parent_path());
  std::filesystem::create_hard_link(dir_ / "elsewhere.toml", devcontainer_manifest());
  const auto result = load_manifest(project(), "myrepo");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "manifest_invalid");
  EXPECT_NE(result.error().message.find("hard link"), std::string::npos) << result.error().message;
}

TEST_F(ManifestFile, ReadingGivesTheTextsSha256ValidOrNot) {
  write_text(devcontainer_manifest(), "abc");
  const ManifestReading invalid = read_manifest(project(), "myrepo");
  ASSERT_FALSE(invalid.manifest.ok());
  EXPECT_EQ(invalid.text_sha256,
            std::optional<std::string>("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
  write_text(devcontainer_manifest(), kValid);
  const ManifestReading valid = read_manifest(project(), "myrepo");
  ASSERT_TRUE(valid.manifest.ok());
  EXPECT_EQ(valid.manifest->sha256, *valid.text_sha256);
  EXPECT_NE(valid.manifest->sha256, *invalid.text_sha256);
  EXPECT_FALSE(read_manifest(project() / "missing", "missing").text_sha256.has_value());
}

TEST_F(ManifestFile, DirectoryNameMustBeTheProjectName) {
  const auto other = dir_ / "other";
  write_text(other / ".remo" / "broker.toml", kValid);
  const auto result = load_manifest(other, "myrepo");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "manifest_invalid");
}

TEST_F(ManifestFile, TrailingSlashOnTheProjectPathIsFine) {
  write_text(remo_manifest(), kValid);
  const auto manifest = load_manifest(project().string() + "/", "myrepo");
  ASSERT_TRUE(manifest.ok()) << manifest.error().message;
}

}  // namespace
}  // namespace remo::core
