#include "broker/core/claim_journal.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/unit/core/temp_dir.hpp"

namespace remo::core {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

std::vector<std::uint8_t> bytes_of(std::string_view text) { return {text.begin(), text.end()}; }

std::string payload_text(const ClaimJournal::Frame& frame) {
  return {frame.payload.begin(), frame.payload.end()};
}

// The payloads of the journal's whole frames, as a fresh open() reads them (empty when it cannot open).
std::vector<std::string> payloads_in(const fs::path& path) {
  std::vector<std::string> payloads;
  auto opened = ClaimJournal::open(path);
  EXPECT_TRUE(opened) << opened.error().message;
  if (opened) {
    for (const auto& frame : opened->frames) payloads.push_back(payload_text(frame));
  }
  return payloads;
}

void append_raw(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

TEST(ClaimJournal, AnAbsentJournalIsEmptyAndCreatedOwnerOnlyByTheFirstAppend) {
  const TempDir dir;
  auto opened = ClaimJournal::open(dir / "claims.journal");
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_TRUE(opened->frames.empty());
  EXPECT_EQ(opened->journal.size(), 0u);
  EXPECT_TRUE(opened->journal.reset());
  EXPECT_FALSE(fs::exists(dir / "claims.journal"));
  ASSERT_TRUE(opened->journal.append(bytes_of("first")));
  struct stat info {};
  ASSERT_EQ(::stat((dir / "claims.journal").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
}

TEST(ClaimJournal, AppendedFramesComeBackInOrder) {
  const TempDir dir;
  {
    auto opened = ClaimJournal::open(dir / "claims.journal");
    ASSERT_TRUE(opened);
    ASSERT_TRUE(opened->journal.append(bytes_of("first")));
    ASSERT_TRUE(opened->journal.append(bytes_of("second frame")));
    EXPECT_EQ(opened->journal.size(), 2 * ClaimJournal::kHeaderSize + 5 + 12);
  }
  auto reopened = ClaimJournal::open(dir / "claims.journal");
  ASSERT_TRUE(reopened);
  ASSERT_EQ(reopened->frames.size(), 2u);
  EXPECT_EQ(payload_text(reopened->frames[0]), "first");
  EXPECT_EQ(payload_text(reopened->frames[1]), "second frame");
  EXPECT_EQ(reopened->frames[1].offset, ClaimJournal::kHeaderSize + 5);
  EXPECT_FALSE(reopened->cut_torn_frame);
}

TEST(ClaimJournal, ATornLastFrameIsCutOffAndTheNextAppendFollowsTheLastWholeOne) {
  for (const std::string_view torn :
       {std::string_view("RB"), std::string_view("RBJ1\x10\x00\x00\x00partial", 15)}) {
    const TempDir dir;
    {
      auto opened = ClaimJournal::open(dir / "claims.journal");
      ASSERT_TRUE(opened);
      ASSERT_TRUE(opened->journal.append(bytes_of("whole")));
    }
    append_raw(dir / "claims.journal", torn);
    auto reopened = ClaimJournal::open(dir / "claims.journal");
    ASSERT_TRUE(reopened) << reopened.error().message;
    EXPECT_TRUE(reopened->cut_torn_frame);
    ASSERT_EQ(reopened->frames.size(), 1u);
    EXPECT_EQ(fs::file_size(dir / "claims.journal"), ClaimJournal::kHeaderSize + 5);
    ASSERT_TRUE(reopened->journal.append(bytes_of("next")));
    EXPECT_EQ(payloads_in(dir / "claims.journal"), (std::vector<std::string>{"whole", "next"}));
  }
}

TEST(ClaimJournal, CorruptionIsAnErrorThatNamesTheOffset) {
  const TempDir dir;
  {
    auto opened = ClaimJournal::open(dir / "claims.journal");
    ASSERT_TRUE(opened);
    ASSERT_TRUE(opened->journal.append(bytes_of("whole")));
  }
  append_raw(dir / "claims.journal", std::string_view("XXXX\x01\x00\x00\x00y", 9));
  auto bad_marker = ClaimJournal::open(dir / "claims.journal");
  ASSERT_FALSE(bad_marker);
  EXPECT_EQ(bad_marker.error().code, "internal_error");
  EXPECT_NE(bad_marker.error().message.find("at byte 13: bad frame marker"), std::string::npos)
      << bad_marker.error().message;
  EXPECT_EQ(fs::file_size(dir / "claims.journal"), ClaimJournal::kHeaderSize + 5 + 9);  // nothing cut

  fs::remove(dir / "claims.journal");
  append_raw(dir / "claims.journal", std::string_view("RBJ1\x00\x00\x00\x00", 8));
  auto empty_frame = ClaimJournal::open(dir / "claims.journal");
  ASSERT_FALSE(empty_frame);
  EXPECT_NE(empty_frame.error().message.find("frame length out of range"), std::string::npos);
}

TEST(ClaimJournal, AFailedAppendLeavesTheFileAsItWas) {
  const TempDir dir;
  auto opened = ClaimJournal::open(dir / "claims.journal");
  ASSERT_TRUE(opened);
  ASSERT_TRUE(opened->journal.append(bytes_of("whole")));
  ::signal(SIGXFSZ, SIG_IGN);
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  const rlimit tiny{20, saved.rlim_max};  // the next frame's header fits, its payload does not
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &tiny), 0);
  auto failed = opened->journal.append(bytes_of("a payload longer than the limit allows"));
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &saved), 0);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, "internal_error");
  EXPECT_NE(failed.error().message.find("(append)"), std::string::npos);
  EXPECT_FALSE(opened->journal.broken());
  EXPECT_EQ(fs::file_size(dir / "claims.journal"), ClaimJournal::kHeaderSize + 5);
  ASSERT_TRUE(opened->journal.append(bytes_of("after")));
  EXPECT_EQ(payloads_in(dir / "claims.journal"), (std::vector<std::string>{"whole", "after"}));
}

TEST(ClaimJournal, ResetEmptiesTheFile) {
  const TempDir dir;
  auto opened = ClaimJournal::open(dir / "claims.journal");
  ASSERT_TRUE(opened);
  ASSERT_TRUE(opened->journal.append(bytes_of("whole")));
  ASSERT_TRUE(opened->journal.reset());
  EXPECT_EQ(opened->journal.size(), 0u);
  EXPECT_EQ(fs::file_size(dir / "claims.journal"), 0u);
}

TEST(ClaimJournal, ASymlinkOrDirectoryIsRefused) {
  const TempDir dir;
  fs::create_directory(dir / "claims.journal");
  EXPECT_FALSE(ClaimJournal::open(dir / "claims.journal"));
  fs::create_symlink(dir / "elsewhere", dir / "link.journal");
  EXPECT_FALSE(ClaimJournal::open(dir / "link.journal"));
  EXPECT_FALSE(fs::exists(dir / "elsewhere"));
}

}  // namespace
}  // namespace remo::core
