#include "broker/cli/git_credential_config.hpp"

#include <gtest/gtest.h>

#include <string>

#include "cli_test_files.hpp"

namespace remo::cli {
namespace {

constexpr std::string_view kCanary = "CANARY-cfg-77c2";

class GitConfigFile : public test::TempDir {
 protected:
  Result<GitCredentialConfig> load_text(std::string_view text, mode_t mode = 0600) {
    return GitCredentialConfig::load(write("git-credential.toml", text, mode), false);
  }
  static GitAuthority host(std::string_view text) {
    auto authority = parse_git_authority(text, "443");
    EXPECT_TRUE(authority.ok()) << text;
    return authority.ok() ? *authority : GitAuthority{};
  }
};

TEST_F(GitConfigFile, AMissingFileIsEmptyOnlyWhenAllowed) {
  auto empty = GitCredentialConfig::load(dir_ + "/none.toml", true);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->find(host("github.com")), nullptr);
  auto required = GitCredentialConfig::load(dir_ + "/none.toml", false);
  ASSERT_FALSE(required.ok());
  EXPECT_EQ(required.error().code, "config");
}

TEST_F(GitConfigFile, EntriesAreFoundByNormalisedHostAndPort) {
  auto config = load_text(
      "[hosts.\"GitLab.MyCorp.com:443\"]\nsecret = \"GITLAB_TOKEN\"\nusername = \"oauth2\"\n"
      "[hosts.\"git.example.com:8443\"]\nsecret = \"EXAMPLE\"\nallow_http = true\n");
  ASSERT_TRUE(config.ok()) << config.error().message;
  const GitHostEntry* gitlab = config->find(host("gitlab.mycorp.com."));
  ASSERT_NE(gitlab, nullptr);
  EXPECT_EQ(gitlab->secret, "GITLAB_TOKEN");
  EXPECT_EQ(gitlab->username, "oauth2");
  EXPECT_FALSE(gitlab->allow_http);
  const GitHostEntry* example = config->find(host("git.example.com:8443"));
  ASSERT_NE(example, nullptr);
  EXPECT_TRUE(example->allow_http);
  EXPECT_EQ(example->username, "");
  EXPECT_EQ(config->find(host("git.example.com")), nullptr);
}

TEST_F(GitConfigFile, AGitTokenNameServesOnlyItsOwnHost) {
  EXPECT_TRUE(load_text("[hosts.\"github.com\"]\nsecret = \"GIT_TOKEN_GITHUB_COM\"\n").ok());
  auto other = load_text("[hosts.\"evil.example\"]\nsecret = \"git_token_GITHUB_COM\"\n");
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.error().message.find("belongs by its name to another host"), std::string::npos);
}

TEST_F(GitConfigFile, BadFilesAreConfigErrorsThatNeverQuoteAValue) {
  const std::string canary(kCanary);
  for (const std::string& text : {
           "[hosts.\"h.example\"]\nsecret = \"bad-name-" + canary + "\"\n",
           "[hosts.\"h.example\"]\nsecret = \"OK\"\nusername = \"a\\u0001" + canary + "\"\n",
           "[hosts.\"h.example\"]\nsecret = \"OK\"\nallow_http = \"" + canary + "\"\n",
           "[hosts.\"h.example\"]\nsecret = \"OK\"\npassword = \"" + canary + "\"\n",
           std::string(
               "[hosts.\"h.example\"]\nsecret = \"OK\"\n[hosts.\"H.EXAMPLE:443\"]\nsecret = \"OK2\"\n"),
           std::string("[hosts.\"bad host\"]\nsecret = \"OK\"\n"),
           "hosts = \"" + canary + "\"\n",
           "token = \"" + canary + "\"\n",
           "[hosts.\"h.example\"]\nsecret = \"" + canary,
       }) {
    auto config = load_text(text);
    ASSERT_FALSE(config.ok()) << text;
    EXPECT_EQ(config.error().code, "config") << text;
    EXPECT_EQ(config.error().message.find(kCanary), std::string::npos) << config.error().message;
  }
}

TEST_F(GitConfigFile, AFileOthersMayWriteIsRefused) {
  auto config = load_text("[hosts.\"h.example\"]\nsecret = \"OK\"\n", 0620);
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().message.find("writable by its group or by others"), std::string::npos);
}

TEST(GitUsername, ControlCharactersAndOverLongNamesAreUnsafe) {
  EXPECT_TRUE(is_safe_git_username("oauth2"));
  EXPECT_TRUE(is_safe_git_username("j\xC3\xBCrgen"));
  EXPECT_FALSE(is_safe_git_username("a\nb"));
  EXPECT_FALSE(is_safe_git_username("a\x7f"));
  EXPECT_FALSE(is_safe_git_username(std::string(257, 'a')));
}

TEST(PrintableExcerpt, ReplacesControlBytesAndCutsAt64) {
  EXPECT_EQ(printable_excerpt("a\nb\x7f"), "a?b?");
  EXPECT_EQ(printable_excerpt(std::string(100, 'x')).size(), 64U);
}

}  // namespace
}  // namespace remo::cli
