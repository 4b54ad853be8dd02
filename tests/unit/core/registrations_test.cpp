#include "broker/core/registrations.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "tests/unit/core/temp_dir.hpp"

namespace remo::core {
namespace {

using testing::read_text;
using testing::TempDir;
using testing::write_text;

std::vector<Registration> sample() {
  return {
      Registration{
          "alpha",
          "/srv/alpha",
          {1000, 1001},
          2000,
          ApprovedPolicy{
              {"GITHUB_TOKEN"}, 60, std::nullopt, ManifestLimits{5, std::nullopt}, std::string(64, 'a')},
          std::string(64, 'b')},
      Registration{"beta-2", "/home/dev/beta-2", {}, std::nullopt, std::nullopt, std::nullopt},
  };
}

void expect_corrupt(std::string_view text, std::string_view fragment) {
  const TempDir dir;
  write_text(dir / "registrations.json", text);
  const auto result = load_registrations(dir / "registrations.json");
  ASSERT_FALSE(result.ok()) << text;
  EXPECT_EQ(result.error().code, "internal_error");
  EXPECT_NE(result.error().message.find("corrupt registrations file"), std::string::npos)
      << result.error().message;
  EXPECT_NE(result.error().message.find(fragment), std::string::npos) << result.error().message;
  EXPECT_NE(result.error().message.find((dir / "registrations.json").string()), std::string::npos);
}

TEST(Registrations, MissingFileIsAnEmptyList) {
  const TempDir dir;
  const auto regs = load_registrations(dir / "registrations.json");
  ASSERT_TRUE(regs.ok()) << regs.error().message;
  EXPECT_TRUE(regs->empty());
}

TEST(Registrations, SaveThenLoadRoundTripsEveryField) {
  const TempDir dir;
  ASSERT_TRUE(save_registrations(dir / "registrations.json", sample()).ok());
  const auto regs = load_registrations(dir / "registrations.json");
  ASSERT_TRUE(regs.ok()) << regs.error().message;
  ASSERT_EQ(regs->size(), 2u);
  EXPECT_EQ((*regs)[0].name, "alpha");
  EXPECT_EQ((*regs)[0].project_path, "/srv/alpha");
  EXPECT_EQ((*regs)[0].uids, (std::vector<uid_t>{1000, 1001}));
  EXPECT_EQ((*regs)[0].gid, std::optional<gid_t>(2000));
  EXPECT_EQ((*regs)[1].name, "beta-2");
  EXPECT_TRUE((*regs)[1].uids.empty());
  EXPECT_FALSE((*regs)[1].gid.has_value());
}

TEST(Registrations, TheApprovedPolicyRoundTrips) {
  const TempDir dir;
  ASSERT_TRUE(save_registrations(dir / "registrations.json", sample()).ok());
  const auto regs = load_registrations(dir / "registrations.json");
  ASSERT_TRUE(regs.ok()) << regs.error().message;
  ASSERT_TRUE((*regs)[0].policy.has_value());
  EXPECT_EQ((*regs)[0].policy->allowlist, std::vector<std::string>{"GITHUB_TOKEN"});
  EXPECT_EQ((*regs)[0].policy->cache_ttl_seconds, std::optional<std::int64_t>(60));
  EXPECT_EQ((*regs)[0].policy->limits.requests_per_second, std::optional<std::int64_t>(5));
  EXPECT_FALSE((*regs)[0].policy->limits.burst.has_value());
  EXPECT_EQ((*regs)[0].policy->manifest_sha256, std::string(64, 'a'));
  EXPECT_EQ((*regs)[0].reported_manifest, std::optional<std::string>(std::string(64, 'b')));
  EXPECT_FALSE((*regs)[1].policy.has_value());
}

TEST(Registrations, AVersion1FileLoadsWithNoRecordedPolicy) {
  const TempDir dir;
  write_text(dir / "registrations.json",
             R"({"version":1,"projects":[{"name":"a","project_path":"/srv/a","uids":[],"gid":null}]})");
  const auto regs = load_registrations(dir / "registrations.json");
  ASSERT_TRUE(regs.ok()) << regs.error().message;
  EXPECT_FALSE((*regs)[0].policy.has_value());
}

TEST(Registrations, AStoredPolicyIsCheckedAsStrictlyAsAManifest) {
  const std::string head =
      R"({"version":2,"projects":[{"name":"a","project_path":"/srv/a","uids":[],"gid":null,)";
  const std::string sha = std::string(64, 'c');
  expect_corrupt(head + R"("policy":{"manifest_sha256":")" + sha + R"(","allowlist":["bad name"]}}]})",
                 "allowlist");
  expect_corrupt(head + R"("policy":{"manifest_sha256":"xyz","allowlist":[]}}]})", "manifest_sha256");
  expect_corrupt(
      head + R"("policy":{"manifest_sha256":")" + sha + R"(","allowlist":[],"limits":{"burst":0}}}]})",
      "burst");
  expect_corrupt(head + R"("policy":{"manifest_sha256":")" + sha + R"(","allowlist":[],"extra":1}}]})",
                 "extra");
  expect_corrupt(head + R"("gidx":1}]})", "gidx");
  expect_corrupt(
      R"({"version":1,"projects":[{"name":"a","project_path":"/srv/a","uids":[],"gid":null,"policy":null}]})",
      "policy");
}

TEST(Registrations, SavedFileIsVersionedJsonReadableOnlyByOwner) {
  const TempDir dir;
  ASSERT_TRUE(save_registrations(dir / "registrations.json", sample()).ok());
  const auto document = nlohmann::json::parse(read_text(dir / "registrations.json"));
  EXPECT_EQ(document["version"], 2);
  ASSERT_EQ(document["projects"].size(), 2u);
  EXPECT_EQ(document["projects"][0]["name"], "alpha");
  EXPECT_EQ(document["projects"][1]["gid"], nullptr);
  struct stat info {};
  ASSERT_EQ(::stat((dir / "registrations.json").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
}

TEST(Registrations, SavingAnEmptyListRoundTrips) {
  const TempDir dir;
  ASSERT_TRUE(save_registrations(dir / "registrations.json", sample()).ok());
  ASSERT_TRUE(save_registrations(dir / "registrations.json", {}).ok());
  const auto regs = load_registrations(dir / "registrations.json");
  ASSERT_TRUE(regs.ok());
  EXPECT_TRUE(regs->empty());
}

TEST(Registrations, CorruptJsonIsAnInternalErrorSayingSo) {
  expect_corrupt("{\"version\": 1, \"projects\": [", "not valid JSON");
  expect_corrupt("", "not valid JSON");
}

TEST(Registrations, WrongShapeIsAnInternalErrorNamingTheField) {
  expect_corrupt("[]", "top level");
  expect_corrupt("{\"projects\": []}", "\"version\"");
  expect_corrupt("{\"version\": 3, \"projects\": []}", "\"version\"");
  expect_corrupt("{\"version\": 1}", "\"projects\"");
  expect_corrupt("{\"version\": 1, \"projects\": [], \"extra\": 1}", "extra");
  expect_corrupt("{\"version\": 1, \"projects\": [7]}", "projects[0]");
  expect_corrupt(R"({"version":1,"projects":[{"name":"a","project_path":"/a","uids":[],"gid":null,"x":1}]})",
                 "projects[0] has an unknown key");
  expect_corrupt(R"({"version":1,"projects":[{"project_path":"/a","uids":[],"gid":null}]})",
                 "projects[0].name");
  expect_corrupt(R"({"version":1,"projects":[{"name":"Bad Name","project_path":"/a","uids":[],"gid":null}]})",
                 "projects[0].name");
  expect_corrupt(R"({"version":1,"projects":[{"name":"a","project_path":"rel","uids":[],"gid":null}]})",
                 "projects[0].project_path");
  expect_corrupt(R"({"version":1,"projects":[{"name":"a","project_path":"/a","uids":[-1],"gid":null}]})",
                 "projects[0].uids[0]");
  expect_corrupt(
      R"({"version":1,"projects":[{"name":"a","project_path":"/a","uids":[4294967296],"gid":null}]})",
      "projects[0].uids[0]");
  expect_corrupt(R"({"version":1,"projects":[{"name":"a","project_path":"/a","uids":[]}]})",
                 "projects[0].gid");
  expect_corrupt(R"({"version":1,"projects":[{"name":"a","project_path":"/a","uids":[],"gid":"x"}]})",
                 "projects[0].gid");
}

TEST(Registrations, DuplicateNamesAreCorrupt) {
  expect_corrupt(R"({"version":1,"projects":[
      {"name":"a","project_path":"/a","uids":[],"gid":null},
      {"name":"a","project_path":"/b","uids":[],"gid":null}]})",
                 "registered twice");
}

}  // namespace
}  // namespace remo::core
