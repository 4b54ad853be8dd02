#include "broker/cli/known_instances.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>

#include "cli_test_files.hpp"

namespace remo::cli {
namespace {

constexpr std::string_view kRecipientA = "age1aaaa";
constexpr std::string_view kRecipientB = "age1bbbb";

TEST(FindPin, FindsTheRecipientOfTheNamedInstance) {
  const std::string text = "# pins\nhost-a age1aaaa\n[host-b]:2222 age1bbbb\n";
  EXPECT_EQ(find_pin(text, "host-a"), kRecipientA);
  EXPECT_EQ(find_pin(text, "[host-b]:2222"), kRecipientB);
  EXPECT_EQ(find_pin(text, "host-b"), std::nullopt);
  EXPECT_EQ(find_pin("", "host-a"), std::nullopt);
}

TEST(FindPin, SkipsCommentsAndLinesWithoutTwoWords) {
  const std::string text = "#host-a age1comment\nhost-a\n\n   \nhost-a\tage1aaaa extra words\n";
  EXPECT_EQ(find_pin(text, "host-a"), kRecipientA);
  EXPECT_EQ(find_pin(text, "#host-a"), std::nullopt);
}

TEST(FindPin, TheFirstLineNamingTheInstanceWins) {
  EXPECT_EQ(find_pin("h age1first\nh age1second\n", "h"), "age1first");
}

TEST(WithPin, AddsAPinAndKeepsOtherLines) {
  EXPECT_EQ(with_pin("# mine\nother age1o\n", "h", "age1h"), "# mine\nother age1o\nh age1h\n");
  EXPECT_EQ(with_pin("", "h", "age1h"), "h age1h\n");
}

TEST(WithPin, ReplacesEveryLineOfTheSameInstance) {
  const std::string text = "h age1old\nother age1o\nh age1older\nh\n";
  const std::string pinned = with_pin(text, "h", "age1new");
  EXPECT_EQ(pinned, "other age1o\nh age1new\n");
  EXPECT_EQ(find_pin(pinned, "h"), "age1new");
}

TEST(WithPin, ATextWithoutFinalNewlineStaysLineSeparated) {
  EXPECT_EQ(with_pin("other age1o", "h", "age1h"), "other age1o\nh age1h\n");
}

using KnownInstancesFile = test::TempDir;

TEST_F(KnownInstancesFile, AMissingFileHasNoPins) {
  const KnownInstances known(dir_ + "/none/known_instances");
  auto found = known.find("h");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(*found, std::nullopt);
}

TEST_F(KnownInstancesFile, PinCreatesPrivateDirectoriesAndFileThenFindReadsIt) {
  const std::string path = dir_ + "/config/remo-broker/known_instances";
  const KnownInstances known(path);
  ASSERT_TRUE(known.pin("h", std::string(kRecipientA)).ok());
  ASSERT_TRUE(known.pin("other", std::string(kRecipientB)).ok());
  ASSERT_TRUE(known.pin("h", std::string(kRecipientB)).ok());  // a --repin

  auto found = known.find("h");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(*found, kRecipientB);
  EXPECT_EQ(read(path), "other age1bbbb\nh age1bbbb\n");

  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600U);
  ASSERT_EQ(::stat((dir_ + "/config/remo-broker").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700U);
}

TEST_F(KnownInstancesFile, AMismatchIsVisibleAsADifferentPin) {
  const KnownInstances known(dir_ + "/known_instances");
  ASSERT_TRUE(known.pin("h", std::string(kRecipientA)).ok());
  auto found = known.find("h");
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_NE(**found, kRecipientB);  // what push compares before refusing without --repin
}

TEST_F(KnownInstancesFile, AnUnreadablePathIsAnError) {
  const KnownInstances known(dir_);  // a directory, not a file
  EXPECT_FALSE(known.find("h").ok());
}

}  // namespace
}  // namespace remo::cli
