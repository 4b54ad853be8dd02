#include "broker/transport/buffer_budget.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace remo::server {
namespace {

// Connections as the budget sees them: each records whether it was told to close.
struct Holders {
  BufferBudget& budget;
  std::vector<std::string> evicted;
  std::vector<BufferBudget::Share> shares;

  BufferBudget::Share& join(const void* socket, std::string name) {
    shares.push_back(budget.join(socket, [this, name = std::move(name)] { evicted.push_back(name); }));
    return shares.back();
  }
};

const int kAttackerSocket = 1;
const int kNeighbourSocket = 2;

TEST(BufferBudget, WithinTheLimitNothingIsClosed) {
  BufferBudget budget(100);
  Holders holders{budget, {}, {}};
  holders.shares.reserve(8);
  holders.join(&kAttackerSocket, "a").hold_lines(60);
  holders.join(&kAttackerSocket, "b").hold_lines(40);
  EXPECT_EQ(budget.held(), 100U);
  EXPECT_TRUE(holders.evicted.empty());
  holders.shares[0].hold_lines(10);
  EXPECT_EQ(budget.held(), 50U);
}

TEST(BufferBudget, PastTheLimitTheBiggestHoldersOfTheHeaviestSocketAreClosedUntilTheRestFits) {
  BufferBudget budget(100);
  Holders holders{budget, {}, {}};
  holders.shares.reserve(8);
  // The neighbour's single connection holds the most, but the attacker's socket holds more in all.
  holders.join(&kNeighbourSocket, "neighbour").hold_lines(45);
  holders.join(&kAttackerSocket, "a1").hold_lines(30);
  holders.join(&kAttackerSocket, "a2").hold_lines(20);
  holders.join(&kAttackerSocket, "a3").hold_lines(35);
  EXPECT_EQ(holders.evicted, (std::vector<std::string>{"a3"}));  // 130 -> 95
  holders.evicted.clear();
  holders.join(&kAttackerSocket, "a4").hold_lines(25);  // 95 + 25 = 120 -> close a1 (30): 90
  EXPECT_EQ(holders.evicted, (std::vector<std::string>{"a1"}));
  EXPECT_EQ(budget.evicted(), 2U);
}

TEST(BufferBudget, AConnectionChosenOnceIsNotChosenAgainWhileItCloses) {
  BufferBudget budget(100);
  Holders holders{budget, {}, {}};
  holders.shares.reserve(8);
  holders.join(&kAttackerSocket, "a1").hold_lines(90);
  holders.join(&kAttackerSocket, "a2").hold_lines(20);
  EXPECT_EQ(holders.evicted, (std::vector<std::string>{"a1"}));
  holders.shares[1].hold_lines(30);  // still over in total (120) until a1 has closed, but 30 fits
  EXPECT_EQ(holders.evicted, (std::vector<std::string>{"a1"}));
  holders.shares[0] = BufferBudget::Share();  // a1's session ends
  EXPECT_EQ(budget.held(), 30U);
}

TEST(BufferBudget, ConcurrentHoldersKeepAnExactTotal) {
  BufferBudget budget(1 << 30);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&budget] {
      for (int i = 0; i < 2000; ++i) {
        BufferBudget::Share share = budget.join(&budget, [] {});
        share.hold_lines(static_cast<std::size_t>(i % 7) * 4096);
        share.hold_lines(8192);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(budget.held(), 0U);
  EXPECT_EQ(budget.departed(), 8000U);
}

}  // namespace
}  // namespace remo::server
