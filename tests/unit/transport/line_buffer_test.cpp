#include "broker/transport/line_buffer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace remo::server {
namespace {

// Feeds text as if read from a socket, in chunks of at most `chunk` bytes.
void feed(LineBuffer& lines, std::string_view text, std::size_t chunk = 1 << 20) {
  while (!text.empty()) {
    const auto space = lines.prepare();
    ASSERT_FALSE(space.empty());
    const std::size_t n = std::min({space.size(), chunk, text.size()});
    std::copy_n(text.data(), n, space.data());
    lines.commit(n);
    text.remove_prefix(n);
  }
}

std::vector<std::string> drain(LineBuffer& lines) {
  std::vector<std::string> out;
  while (auto line = lines.next_line()) out.emplace_back(*line);
  return out;
}

TEST(LineBuffer, SplitsPipelinedLinesInOrderAndDropsCarriageReturns) {
  LineBuffer lines(1024);
  feed(lines, "one\ntwo\r\n\nthree");
  EXPECT_EQ(drain(lines), (std::vector<std::string>{
                              "one",
                              "two",
                              "",
                          }));
  feed(lines, "-end\n");
  EXPECT_EQ(drain(lines), (std::vector<std::string>{"three-end"}));
  EXPECT_FALSE(lines.overflowed());
}

TEST(LineBuffer, LinesSplitAcrossManySmallReadsComeOutWhole) {
  LineBuffer lines(64 * 1024);
  std::string text;
  for (int i = 0; i < 1000; ++i) text += "{\"op\":\"get\",\"name\":\"SECRET_" + std::to_string(i) + "\"}\n";
  std::vector<std::string> seen;
  for (std::size_t offset = 0; offset < text.size(); offset += 7) {
    feed(lines, std::string_view(text).substr(offset, 7));
    for (auto& line : drain(lines)) seen.push_back(std::move(line));
  }
  ASSERT_EQ(seen.size(), 1000U);
  EXPECT_EQ(seen[999], "{\"op\":\"get\",\"name\":\"SECRET_999\"}");
}

TEST(LineBuffer, ALineOfExactlyTheLimitIsAccepted) {
  LineBuffer lines(100);
  feed(lines, std::string(100, 'x') + "\n");
  const auto all = drain(lines);
  ASSERT_EQ(all.size(), 1U);
  EXPECT_EQ(all[0].size(), 100U);
  EXPECT_FALSE(lines.overflowed());
}

TEST(LineBuffer, ALineOneByteOverTheLimitOverflowsBeforeItsNewlineArrives) {
  LineBuffer lines(100);
  feed(lines, "ok\n");
  EXPECT_EQ(drain(lines), (std::vector<std::string>{"ok"}));
  feed(lines, std::string(100, 'x'));
  EXPECT_FALSE(lines.next_line().has_value());
  EXPECT_FALSE(lines.overflowed());
  feed(lines, "x");
  EXPECT_FALSE(lines.next_line().has_value());
  EXPECT_TRUE(lines.overflowed());
  EXPECT_TRUE(lines.prepare().empty());
}

TEST(LineBuffer, AnUnterminatedTailOverTheLimitOverflowsWithoutGrowingFurther) {
  LineBuffer lines(100);
  std::string text(5000, 'x');
  std::size_t fed = 0;
  while (!lines.overflowed() && fed < text.size()) {
    const auto space = lines.prepare();
    if (space.empty()) break;
    const std::size_t n = std::min(space.size(), text.size() - fed);
    lines.commit(n);
    fed += n;
    EXPECT_FALSE(lines.next_line().has_value());
  }
  EXPECT_TRUE(lines.overflowed());
  EXPECT_LE(fed, 101U);
}

}  // namespace
}  // namespace remo::server

namespace remo::server {
namespace {

TEST(LineBuffer, HasLineSaysWhetherALineIsCompleteWithoutConsumingIt) {
  LineBuffer lines(100);
  EXPECT_FALSE(lines.has_line());
  feed(lines, "par");
  EXPECT_FALSE(lines.has_line());
  feed(lines, "tial\nnext");
  EXPECT_TRUE(lines.has_line());
  EXPECT_TRUE(lines.has_line());
  EXPECT_EQ(lines.next_line(), "partial");
  EXPECT_FALSE(lines.has_line());
  feed(lines, std::string(97, 'x'));  // "next" and these: 101 bytes without a '\n'
  EXPECT_FALSE(lines.has_line());
  EXPECT_TRUE(lines.overflowed());
}

TEST(LineBuffer, ALongLineGrowsTheBufferAndItShrinksBackOnceAnswered) {
  BufferBudget budget(1 << 20);
  BufferBudget::Share share = budget.join(&budget, [] {});
  LineBuffer lines(64 * 1024, &share);
  feed(lines, "short\n");
  EXPECT_EQ(drain(lines), (std::vector<std::string>{"short"}));
  EXPECT_EQ(budget.held(), 0U) << "a buffer of its first size counts nothing";
  feed(lines, std::string(40000, 'x'));
  EXPECT_GE(lines.capacity(), 40000U);
  EXPECT_EQ(budget.held(), lines.capacity()) << "a grown buffer counts in full";
  feed(lines, "\nnext");
  EXPECT_EQ(drain(lines).size(), 1U);
  lines.prepare();
  EXPECT_GE(lines.capacity(), 40000U) << "an unanswered tail keeps the buffer";
  feed(lines, "\n");
  EXPECT_EQ(drain(lines), (std::vector<std::string>{"next"}));
  lines.prepare();
  EXPECT_EQ(lines.capacity(), 4096U);
  EXPECT_EQ(budget.held(), 0U);
}

TEST(LineBuffer, ItsShareLeavesTheBudgetWithIt) {
  BufferBudget budget(1 << 20);
  {
    BufferBudget::Share share = budget.join(&budget, [] {});
    LineBuffer lines(64 * 1024, &share);
    feed(lines, std::string(20000, 'x'));
    EXPECT_GT(budget.held(), 0U);
    share.hold_replies(1000);
    EXPECT_EQ(budget.held(), lines.capacity() + 1000);
  }
  EXPECT_EQ(budget.held(), 0U);
  EXPECT_EQ(budget.departed(), 1U);
}

}  // namespace
}  // namespace remo::server
