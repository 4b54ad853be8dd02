#include "broker/cli/credential_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>

#include "cli_test_files.hpp"

namespace remo::cli {
namespace {

using CredentialFileTest = test::TempDir;

TEST_F(CredentialFileTest, WriteThenReadGivesTheSameIdentityInA0600File) {
  const auto identity = crypto::X25519Identity::generate();
  const CredentialFile file{dir_ + "/bootstrap-key", false};
  ASSERT_TRUE(write_credential(file, identity).ok());
  auto loaded = read_credential(file);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->recipient().encode(), identity.recipient().encode());
  struct stat st {};
  ASSERT_EQ(::stat(file.path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600U);
  EXPECT_TRUE(read(file.path).starts_with("# created: "));
}

TEST_F(CredentialFileTest, TheFirstIdentityOfAFileIsTheKey) {
  const auto first = crypto::X25519Identity::generate();
  const auto second = crypto::X25519Identity::generate();
  const std::string path = write("key", "# comment\n" + std::string(first.encode().view()) + "\n" +
                                            std::string(second.encode().view()) + "\n");
  auto loaded = read_credential(CredentialFile{path, false});
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->recipient().encode(), first.recipient().encode());
}

TEST_F(CredentialFileTest, ErrorsNameThePathButNeverTheContent) {
  constexpr std::string_view kCanary = "CANARY-not-a-key-3e11";
  for (const std::string& text :
       {std::string(kCanary) + "\n", std::string("# only a comment\n"), std::string()}) {
    const std::string path = write("key", text);
    auto loaded = read_credential(CredentialFile{path, false});
    ASSERT_FALSE(loaded.ok()) << text;
    EXPECT_EQ(loaded.error().code, "credential");
    EXPECT_NE(loaded.error().message.find(path), std::string::npos);
    EXPECT_EQ(loaded.error().message.find(kCanary), std::string::npos) << loaded.error().message;
  }
  auto missing = read_credential(CredentialFile{dir_ + "/none", false});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "credential");
}

}  // namespace
}  // namespace remo::cli
