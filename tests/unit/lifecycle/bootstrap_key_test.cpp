#include "broker/lifecycle/bootstrap_key.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <string>

#include "tests/unit/support/temp_dir.hpp"

namespace remo::server {
namespace {

void write_file(const std::filesystem::path& file, std::string_view text, unsigned mode = 0600) {
  std::ofstream(file) << text;
  ::chmod(file.c_str(), mode);
}

TEST(BootstrapKey, LoadsAnAgeKeygenIdentityFile) {
  test_support::TempDir dir;
  const auto identity = crypto::X25519Identity::generate();
  write_file(dir / "key", crypto::format_identity_file(identity).view());
  const auto key = load_bootstrap_key(dir / "key");
  ASSERT_TRUE(key.ok()) << key.error().message;
  ASSERT_EQ(key->identities.size(), 1U);
  EXPECT_EQ(key->identities[0].recipient(), identity.recipient());
  EXPECT_FALSE(key->readable_by_others);
}

TEST(BootstrapKey, NoticesAKeyOthersCanRead) {
  test_support::TempDir dir;
  write_file(dir / "key", crypto::format_identity_file(crypto::X25519Identity::generate()).view(), 0644);
  const auto key = load_bootstrap_key(dir / "key");
  ASSERT_TRUE(key.ok());
  EXPECT_TRUE(key->readable_by_others);
}

TEST(BootstrapKey, AMissingKeyIsABootstrapErrorNamingThePath) {
  test_support::TempDir dir;
  const auto key = load_bootstrap_key(dir / "absent");
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.error().code, "bootstrap_error");
  EXPECT_NE(key.error().message.find((dir / "absent").string()), std::string::npos);
}

TEST(BootstrapKey, AMalformedKeyIsRefusedWithoutQuotingIt) {
  test_support::TempDir dir;
  const std::string almost =
      "AGE-SECRET-KEY-1CANARYQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ\n";
  for (const std::string& text : {almost, std::string("# only a comment\n"), std::string()}) {
    write_file(dir / "key", text);
    const auto key = load_bootstrap_key(dir / "key");
    ASSERT_FALSE(key.ok());
    EXPECT_EQ(key.error().code, "bootstrap_error");
    EXPECT_EQ(key.error().message.find("CANARY"), std::string::npos);
  }
}

TEST(BootstrapKey, ADirectoryIsNotAKey) {
  test_support::TempDir dir;
  const auto key = load_bootstrap_key(dir.path());
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.error().code, "bootstrap_error");
}

}  // namespace
}  // namespace remo::server
