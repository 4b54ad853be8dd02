#include "broker/core/lock_state.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "broker/core/state_file.hpp"

namespace remo::core {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;
using std::chrono::system_clock;

class LockStateTest : public ::testing::Test {
 protected:
  LockStateTest() {
    std::string pattern = (fs::temp_directory_path() / "lock-state-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
  }
  ~LockStateTest() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  fs::path file() const { return dir_ / std::string(LockState::kFileName); }

  fs::path dir_;
  const system_clock::time_point when_ = system_clock::time_point(seconds(1'700'000'000));
};

TEST_F(LockStateTest, StartsUnlockedWithoutAFile) {
  LockState state(file());
  EXPECT_FALSE(state.is_locked());
  EXPECT_FALSE(state.problem());
  EXPECT_FALSE(fs::exists(file()));
}

TEST_F(LockStateTest, LockPersistsAcrossRestarts) {
  {
    LockState state(file());
    ASSERT_TRUE(state.lock("uid 0", "laptop stolen", when_));
    EXPECT_TRUE(state.is_locked());
  }
  LockState reloaded(file());
  EXPECT_TRUE(reloaded.is_locked());
  EXPECT_EQ(reloaded.info().by, "uid 0");
  EXPECT_EQ(reloaded.info().reason, "laptop stolen");
  EXPECT_EQ(reloaded.info().at, when_);
  EXPECT_EQ(fs::status(file()).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);

  const auto doc = nlohmann::json::parse(read_file_if_exists(file())->value());
  EXPECT_EQ(doc["locked"], true);
  EXPECT_EQ(doc["at"], "2023-11-14T22:13:20.000000Z");
}

TEST_F(LockStateTest, UnlockPersistsAcrossRestarts) {
  {
    LockState state(file());
    ASSERT_TRUE(state.lock("uid 0", "laptop stolen", when_));
    ASSERT_TRUE(state.unlock("uid 1000", when_ + seconds(5)));
    EXPECT_FALSE(state.is_locked());
  }
  LockState reloaded(file());
  EXPECT_FALSE(reloaded.is_locked());
  EXPECT_EQ(reloaded.info().by, "uid 1000");
  EXPECT_EQ(reloaded.info().at, when_ + seconds(5));
}

TEST_F(LockStateTest, CorruptFileLoadsLocked) {
  ASSERT_TRUE(write_file_atomically(file(), std::string_view("{not json"), 0600));
  LockState state(file());
  EXPECT_TRUE(state.is_locked());
  ASSERT_TRUE(state.problem());
  EXPECT_NE(state.problem()->find(file().string()), std::string::npos);

  ASSERT_TRUE(state.unlock("uid 0", when_));  // an admin can clear it explicitly
  EXPECT_FALSE(state.problem());
  EXPECT_FALSE(LockState(file()).is_locked());
}

TEST_F(LockStateTest, LockTakesEffectEvenWhenTheDiskFails) {
  LockState state(dir_ / "missing-dir" / "locked.json");
  auto result = state.lock("uid 0", "laptop stolen", when_);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, "internal_error");
  EXPECT_TRUE(state.is_locked());
}

TEST_F(LockStateTest, UnlockThatCannotBeSavedStaysLocked) {
  LockState state(file());
  ASSERT_TRUE(state.lock("uid 0", "laptop stolen", when_));
  fs::remove(file());
  fs::create_directory(file());  // a directory where the file goes: the rename fails
  auto result = state.unlock("uid 0", when_);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, "internal_error");
  EXPECT_TRUE(state.is_locked());
}

TEST_F(LockStateTest, RepeatedLockKeepsTheFirstTimeAndReason) {
  LockState state(file());
  auto first = state.lock("uid 0", "laptop stolen", when_);
  ASSERT_TRUE(first);
  EXPECT_TRUE(*first);
  auto again = state.lock("uid 1000", "second try", when_ + seconds(30));
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);
  EXPECT_EQ(state.info().reason, "laptop stolen");
  EXPECT_EQ(state.info().at, when_);
  EXPECT_EQ(LockState(file()).info().reason, "laptop stolen");
}

TEST_F(LockStateTest, UnlockOfAnUnlockedBrokerChangesNothing) {
  LockState state(file());
  auto result = state.unlock("uid 0", when_);
  ASSERT_TRUE(result);
  EXPECT_FALSE(*result);
  EXPECT_FALSE(fs::exists(file()));
}

TEST_F(LockStateTest, LockOverAnUnreadableFileSavesTheOperatorsLock) {
  ASSERT_TRUE(write_file_atomically(file(), std::string_view("[]"), 0600));
  LockState state(file());
  ASSERT_TRUE(state.is_locked());
  EXPECT_EQ(state.info().reason, "the lock file could not be read");
  auto result = state.lock("uid 0", "investigating", when_);
  ASSERT_TRUE(result);
  EXPECT_TRUE(*result);
  EXPECT_FALSE(state.problem());
  LockState reloaded(file());
  EXPECT_FALSE(reloaded.problem());
  EXPECT_EQ(reloaded.info().reason, "investigating");
}

TEST_F(LockStateTest, LockThatCouldNotBeSavedIsRetried) {
  const fs::path file = dir_ / "later" / "locked.json";
  LockState state(file);
  ASSERT_FALSE(state.is_locked());
  ASSERT_FALSE(state.lock("uid 0", "first", when_));  // the directory does not exist yet
  ASSERT_TRUE(state.problem());
  fs::create_directory(dir_ / "later");
  auto retried = state.lock("uid 0", "second", when_);
  ASSERT_TRUE(retried);
  EXPECT_TRUE(*retried);
  EXPECT_FALSE(state.problem());
  EXPECT_TRUE(LockState(file).is_locked());
}

}  // namespace
}  // namespace remo::core
