#include "broker/core/state_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "tests/unit/core/temp_dir.hpp"

namespace remo::core {
namespace {

namespace fs = std::filesystem;
using testing::read_text;
using testing::TempDir;
using testing::write_text;

unsigned mode_of(const fs::path& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return 0xFFFF;
  return info.st_mode & 07777;
}

std::vector<std::string> entries_of(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(StateFile, AtomicWriteCreatesFileWithMode0600ByDefault) {
  const TempDir dir;
  const auto old_umask = ::umask(0);  // a permissive umask must not widen the file
  const auto result = write_file_atomically(dir / "state", std::string_view("hello"));
  ::umask(old_umask);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(read_text(dir / "state"), "hello");
  EXPECT_EQ(mode_of(dir / "state"), 0600u);
}

TEST(StateFile, AtomicWriteAppliesTheRequestedModeDespiteUmask) {
  const TempDir dir;
  const auto old_umask = ::umask(077);
  const auto result = write_file_atomically(dir / "public", std::string_view("x"), 0644);
  ::umask(old_umask);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(mode_of(dir / "public"), 0644u);
}

TEST(StateFile, AtomicWriteReplacesExistingFileAndLeavesNoTemp) {
  const TempDir dir;
  write_text(dir / "state", "old contents that are longer");
  ::chmod((dir / "state").c_str(), 0644);
  const std::vector<std::uint8_t> bytes = {0, 1, 2, 0xff};
  ASSERT_TRUE(write_file_atomically(dir / "state", bytes).ok());
  EXPECT_EQ(read_text(dir / "state"), std::string("\0\1\2\xff", 4));
  EXPECT_EQ(mode_of(dir / "state"), 0600u);
  EXPECT_EQ(entries_of(dir.path()), (std::vector<std::string>{"state"}));
}

TEST(StateFile, AtomicWriteOfEmptyContentMakesEmptyFile) {
  const TempDir dir;
  write_text(dir / "state", "something");
  ASSERT_TRUE(write_file_atomically(dir / "state", std::string_view()).ok());
  EXPECT_EQ(read_text(dir / "state"), "");
}

TEST(StateFile, AtomicWriteIntoMissingDirectoryFailsNamingThePath) {
  const TempDir dir;
  const auto target = dir / "missing" / "state";
  const auto result = write_file_atomically(target, std::string_view("x"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "internal_error");
  EXPECT_NE(result.error().message.find(target.string()), std::string::npos) << result.error().message;
  EXPECT_NE(result.error().message.find("No such file or directory"), std::string::npos)
      << result.error().message;
  EXPECT_TRUE(entries_of(dir.path()).empty());
}

TEST(StateFile, AtomicWriteIntoReadOnlyDirectoryLeavesNothingBehind) {
  if (::geteuid() == 0) GTEST_SKIP() << "root ignores directory permissions";
  const TempDir dir;
  fs::create_directory(dir / "ro");
  ::chmod((dir / "ro").c_str(), 0500);
  const auto result = write_file_atomically(dir / "ro" / "state", std::string_view("x"));
  ::chmod((dir / "ro").c_str(), 0700);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "internal_error");
  EXPECT_TRUE(entries_of(dir / "ro").empty());
}

TEST(StateFile, FailedRenameRemovesTheTempFileAndKeepsTheTarget) {
  const TempDir dir;
  // A non-empty directory in the target's place: the temp file is written, then rename() fails.
  write_text(dir / "state" / "keep", "kept");
  const auto result = write_file_atomically(dir / "state", std::string_view("new"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "internal_error");
  EXPECT_NE(result.error().message.find((dir / "state").string()), std::string::npos);
  EXPECT_EQ(entries_of(dir.path()), (std::vector<std::string>{"state"}));
  EXPECT_EQ(read_text(dir / "state" / "keep"), "kept");
}

TEST(StateFile, ReadOfMissingFileIsNullopt) {
  const TempDir dir;
  const auto result = read_file_if_exists(dir / "absent");
  ASSERT_TRUE(result.ok());
  EXPECT_FALSE(result->has_value());
}

TEST(StateFile, ReadReturnsEveryByte) {
  const TempDir dir;
  std::string big(200 * 1024, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
  write_text(dir / "big", big);
  const auto result = read_file_if_exists(dir / "big");
  ASSERT_TRUE(result.ok());
  ASSERT_TRUE(result->has_value());
  EXPECT_EQ(std::string((*result)->begin(), (*result)->end()), big);
}

TEST(StateFile, ReadOfDirectoryIsAnError) {
  const TempDir dir;
  const auto result = read_file_if_exists(dir.path());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "internal_error");
}

TEST(StateFile, ShredZeroesTheBytesInPlaceThenUnlinks) {
  const TempDir dir;
  const std::string secret(100 * 1024 + 3, 'S');
  write_text(dir / "secret", secret);
  // A second name for the same inode lets the test look at the bytes after the first name is gone.
  fs::create_hard_link(dir / "secret", dir / "witness");
  ASSERT_TRUE(shred_file(dir / "secret").ok());
  EXPECT_FALSE(fs::exists(dir / "secret"));
  EXPECT_EQ(read_text(dir / "witness"), std::string(secret.size(), '\0'));
}

TEST(StateFile, ShredOfMissingFileIsOk) {
  const TempDir dir;
  EXPECT_TRUE(shred_file(dir / "absent").ok());
}

TEST(StateFile, ShredRefusesToFollowSymlinks) {
  const TempDir dir;
  write_text(dir / "target", "keep me");
  fs::create_symlink(dir / "target", dir / "link");
  EXPECT_FALSE(shred_file(dir / "link").ok());
  EXPECT_EQ(read_text(dir / "target"), "keep me");
}

TEST(StateFile, EnsureDirectoryCreatesParentsAndSetsTheLeafMode) {
  const TempDir dir;
  const auto leaf = dir / "a" / "b" / "state";
  const auto old_umask = ::umask(077);
  const auto result = ensure_directory(leaf, 0750);
  ::umask(old_umask);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_TRUE(fs::is_directory(leaf));
  EXPECT_EQ(mode_of(leaf), 0750u);
}

TEST(StateFile, EnsureDirectoryAcceptsAnExistingDirectory) {
  const TempDir dir;
  ASSERT_TRUE(ensure_directory(dir / "d").ok());
  EXPECT_EQ(mode_of(dir / "d"), 0700u);
  EXPECT_TRUE(ensure_directory(dir / "d").ok());
  EXPECT_TRUE(ensure_directory((dir / "d").string() + "/").ok());
}

TEST(StateFile, EnsureDirectoryRefusesAFileInItsPlace) {
  const TempDir dir;
  write_text(dir / "file", "x");
  const auto result = ensure_directory(dir / "file");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "internal_error");
  EXPECT_NE(result.error().message.find((dir / "file").string()), std::string::npos);
}

}  // namespace
}  // namespace remo::core
