#include "broker/cli/git_origin.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <optional>
#include <string>

namespace remo::cli {
namespace {

// A readable test name from arbitrary text: letters and digits kept, everything else '_'.
std::string name_of(std::string_view text) {
  std::string name;
  for (const char c : text) name.push_back(std::isalnum(static_cast<unsigned char>(c)) != 0 ? c : '_');
  return name.empty() ? std::string("empty") : name;
}

struct AuthorityCase {
  std::string_view name;  // the test's name
  std::string_view text;
  std::string_view host;
  std::string_view port;
  std::optional<std::string_view> secret;  // the conventional secret name, if the origin has one
};

class GitAuthorityAccepts : public ::testing::TestWithParam<AuthorityCase> {};

TEST_P(GitAuthorityAccepts, NormalisesAndNamesTheConventionalSecret) {
  const AuthorityCase& c = GetParam();
  auto authority = parse_git_authority(c.text, "443");
  ASSERT_TRUE(authority.ok()) << authority.error().message;
  EXPECT_EQ(authority->host, c.host);
  EXPECT_EQ(authority->port, c.port);
  const auto secret = conventional_secret(*authority);
  EXPECT_EQ(secret.has_value(), c.secret.has_value());
  if (secret && c.secret) {
    EXPECT_EQ(*secret, *c.secret);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Hosts, GitAuthorityAccepts,
    ::testing::Values(
        AuthorityCase{"plain", "github.com", "github.com", "", "GIT_TOKEN_GITHUB_COM"},
        AuthorityCase{"upper_case_and_trailing_dot", "GitHub.COM.", "github.com", "", "GIT_TOKEN_GITHUB_COM"},
        AuthorityCase{"default_port_dropped", "github.com:443", "github.com", "", "GIT_TOKEN_GITHUB_COM"},
        AuthorityCase{"other_port_kept", "git.example.com:8443", "git.example.com", "8443",
                      "GIT_TOKEN_GIT_EXAMPLE_COM_8443"},
        AuthorityCase{"ipv4", "10.0.0.1", "10.0.0.1", "", "GIT_TOKEN_10_0_0_1"},
        AuthorityCase{"hyphen_has_no_conventional_name", "my-git.example", "my-git.example", "",
                      std::nullopt},
        AuthorityCase{"ipv6_canonicalised", "[0:0::1]:8443", "[::1]", "8443", std::nullopt}),
    [](const ::testing::TestParamInfo<AuthorityCase>& param_info) {
      return std::string(param_info.param.name);
    });

class GitAuthorityRefuses : public ::testing::TestWithParam<std::string_view> {};

TEST_P(GitAuthorityRefuses, WithCodeRefused) {
  auto authority = parse_git_authority(GetParam(), "443");
  ASSERT_FALSE(authority.ok());
  EXPECT_EQ(authority.error().code, "refused");
  EXPECT_EQ(authority.error().message.find('\n'), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Hosts, GitAuthorityRefuses,
                         ::testing::Values("", "a b", "h\x01st", "ex_ample.com", "-lead.com", "a..b", "h:0",
                                           "h:65536", "h:08", "h:1:2", "[::1", "[::1]x", "[fe80::1%eth0]",
                                           "010.0.0.1", "1.2.3", "example.com.8443", "h\xC3\xA9.com"),
                         [](const ::testing::TestParamInfo<std::string_view>& param_info) {
                           return std::to_string(param_info.index) + "_" + name_of(param_info.param);
                         });

TEST(DefaultPort, OfEachScheme) {
  EXPECT_EQ(default_port_of("https"), "443");
  EXPECT_EQ(default_port_of("http"), "80");
  EXPECT_EQ(default_port_of("ssh"), "");
}

TEST(ConventionalSecret, HttpDefaultPortIsDroppedForHttp) {
  auto authority = parse_git_authority("example.com:80", default_port_of("http"));
  ASSERT_TRUE(authority.ok());
  EXPECT_EQ(authority->text(), "example.com");
  auto on_https = parse_git_authority("example.com:80", default_port_of("https"));
  ASSERT_TRUE(on_https.ok());
  EXPECT_EQ(on_https->text(), "example.com:80");
  EXPECT_EQ(conventional_secret(*on_https), "GIT_TOKEN_EXAMPLE_COM_80");
}

TEST(ConventionalSecret, AnOverLongNameHasNone) {
  std::string host;
  for (int i = 0; i < 10; ++i) host += "abcdefghijkl.";
  host += "com";
  auto authority = parse_git_authority(host, "443");
  ASSERT_TRUE(authority.ok());
  EXPECT_EQ(conventional_secret(*authority), std::nullopt);
}

}  // namespace
}  // namespace remo::cli
