#include "broker/cli/git_request.hpp"

#include <gtest/gtest.h>

#include <string>

namespace remo::cli {
namespace {

constexpr std::string_view kCanary = "CANARY-gh-token-51ab";

GitCredentialConfig empty_config() {
  auto config = GitCredentialConfig::load("/nonexistent/remo-git-credential.toml", true);
  EXPECT_TRUE(config.ok());
  return std::move(config).value();
}

Result<GitAnswer> answer_for(std::string_view text) {
  auto request = parse_git_request(text);
  EXPECT_TRUE(request.ok()) << text;
  if (!request.ok()) return std::move(request).error();
  return choose_answer(*request, empty_config());
}

TEST(GitRequestEnd, IsTheFirstEmptyLine) {
  EXPECT_FALSE(is_complete_git_request(""));
  EXPECT_FALSE(is_complete_git_request("protocol=https\nhost=github.com\n"));
  EXPECT_TRUE(is_complete_git_request("protocol=https\nhost=github.com\n\n"));
  EXPECT_TRUE(is_complete_git_request("\n"));
  EXPECT_TRUE(is_complete_git_request("protocol=https\n\nhost=after.example\n"));
}

TEST(ParseGitRequest, ReadsKeyValueLinesUpToTheEmptyLine) {
  auto request = parse_git_request("protocol=https\nhost=github.com\npath=a=b\n\nhost=ignored\n");
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(git_field(*request, "protocol"), "https");
  EXPECT_EQ(git_field(*request, "host"), "github.com");
  EXPECT_EQ(git_field(*request, "path"), "a=b");  // only the first '=' splits
  EXPECT_EQ(git_field(*request, "username"), "");
  EXPECT_EQ(request->size(), 3U);
}

TEST(ParseGitRequest, EndOfInputEndsTheRequestToo) {
  auto request = parse_git_request("protocol=https\nhost=github.com");
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(git_field(*request, "host"), "github.com");
}

TEST(ParseGitRequest, MultiValuedFieldsAreSkipped) {
  auto request = parse_git_request("capability[]=authtype\nwwwauth[]=Basic\nwwwauth[]=Bearer\nhost=h\n");
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(request->size(), 1U);
}

TEST(ParseGitRequest, RefusesWhatGitNeverSendsWithoutQuotingValues) {
  const std::string canary(kCanary);
  for (const std::string& text :
       {std::string("host=h\0x\n", 9), "password=" + canary + "\nno equals sign\n", "=" + canary + "\n",
        "url=https://" + canary + "@h/\n", "password=" + canary + "\npassword=" + canary + "\n"}) {
    auto request = parse_git_request(text);
    ASSERT_FALSE(request.ok()) << text;
    EXPECT_EQ(request.error().code, "refused");
    EXPECT_EQ(request.error().message.find(kCanary), std::string::npos) << request.error().message;
  }
}

TEST(ParseGitRequest, ARepeatedFieldIsNamed) {
  auto request = parse_git_request("host=a\nhost=b\n");
  ASSERT_FALSE(request.ok());
  EXPECT_EQ(request.error().message, "git's request names 'host' twice");
}

TEST(ChooseAnswer, HttpsHostGetsItsConventionalSecretAndTheDefaultUsername) {
  auto answer = answer_for("protocol=https\nhost=GitHub.com\n");
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->secret, "GIT_TOKEN_GITHUB_COM");
  EXPECT_EQ(answer->username, "x-access-token");
  EXPECT_EQ(answer->origin, "https://github.com");
}

TEST(ChooseAnswer, GitsOwnUsernameWinsAndAPortIsPartOfTheName) {
  auto answer = answer_for("protocol=https\nhost=git.example.com:8443\nusername=alice\n");
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->secret, "GIT_TOKEN_GIT_EXAMPLE_COM_8443");
  EXPECT_EQ(answer->username, "alice");
}

TEST(ChooseAnswer, RefusesOtherProtocolsPlainHttpAndHostsWithoutAConventionalName) {
  for (const std::string_view text :
       {"protocol=ssh\nhost=github.com\n", "host=github.com\n", "protocol=http\nhost=github.com\n",
        "protocol=https\nhost=my-git.example\n", "protocol=https\nhost=[::1]\n",
        "protocol=https\nhost=github.com\nusername=a\x01"
        "b\n"}) {
    auto answer = answer_for(text);
    ASSERT_FALSE(answer.ok()) << text;
    EXPECT_EQ(answer.error().code, "refused") << text;
  }
}

}  // namespace
}  // namespace remo::cli
