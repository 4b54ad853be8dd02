#include "broker/core/secret_store.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace remo::core {
namespace {

constexpr int kKeys = 50;

std::string key(int i) {
  std::string name = "k";
  name += std::to_string(i);
  return name;
}

SecretSet uniform_set(char value) {
  std::string bundle;
  for (int i = 1; i <= kKeys; ++i) {
    bundle += key(i);
    bundle += " = \"";
    bundle += value;
    bundle += "\"\n";
  }
  auto set = SecretSet::parse_bundle(bundle);
  EXPECT_TRUE(set.ok());
  return std::move(set).value();
}

TEST(SecretStore, StartsEmptyWithNothingLoaded) {
  const SecretStore store;
  const auto snapshot = store.snapshot();
  ASSERT_NE(snapshot, nullptr);
  ASSERT_NE(snapshot->secrets, nullptr);
  EXPECT_EQ(snapshot->secrets->size(), 0u);
  EXPECT_FALSE(snapshot->loaded_at.has_value());
}

TEST(SecretStore, ReplaceThenClear) {
  SecretStore store;
  const auto loaded_at = std::chrono::system_clock::now();
  store.replace(uniform_set('A'), loaded_at);
  auto snapshot = store.snapshot();
  EXPECT_EQ(snapshot->secrets->size(), static_cast<std::size_t>(kKeys));
  EXPECT_EQ(snapshot->loaded_at, loaded_at);
  EXPECT_EQ(snapshot->secrets->find("k1")->bytes.view(), "A");

  store.clear();
  EXPECT_EQ(store.snapshot()->secrets->size(), 0u);
  EXPECT_FALSE(store.snapshot()->loaded_at.has_value());
  // A snapshot taken before the swap stays whole for as long as its holder keeps it.
  EXPECT_EQ(snapshot->secrets->find("k50")->bytes.view(), "A");
}

TEST(SecretStore, ReadersNeverSeeAMixOfTwoSets) {
  SecretStore store;
  store.replace(uniform_set('A'), std::chrono::system_clock::now());
  std::atomic<bool> stop{false};
  std::atomic<long> mixed{0};
  std::atomic<long> reads{0};

  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        const auto snapshot = store.snapshot();
        const auto& secrets = *snapshot->secrets;
        if (secrets.size() == 0) continue;  // cleared: also a whole state
        const std::string first(secrets.find("k1")->bytes.view());
        for (int i = 1; i <= kKeys; ++i) {
          const SecretEntry* value = secrets.find(key(i));
          if (value == nullptr || value->bytes.view() != first) ++mixed;
        }
        ++reads;
      }
    });
  }
  for (int round = 0; round < 400; ++round) {
    store.replace(uniform_set(round % 2 == 0 ? 'B' : 'A'), std::chrono::system_clock::now());
    if (round % 50 == 0) store.clear();
  }
  stop = true;
  for (auto& reader : readers) reader.join();
  EXPECT_EQ(mixed.load(), 0);
  EXPECT_GT(reads.load(), 0);
}

}  // namespace
}  // namespace remo::core
