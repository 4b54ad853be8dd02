// The audit log failing closed, grouping refusals, and rotating by size.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <thread>

#include "broker/core/audit_log.hpp"
#include "tests/unit/core/temp_dir.hpp"

namespace remo::core {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using testing::lines_of;
using testing::read_text;
using testing::TempDir;

std::string get_line(int n) {
  return R"({"decision":"allow","event":"secret.get","n":)" + std::to_string(n) + "}";
}

template <typename Predicate>
bool eventually(Predicate predicate) {
  for (int i = 0; i < 500 && !predicate(); ++i) std::this_thread::sleep_for(10ms);
  return predicate();
}

TEST(AuditFailClosedTest, RefusesWhileTheFileCannotBeWrittenAndKeepsEveryAdmittedLine) {
  TempDir dir;
  const fs::path file = dir / "gone" / "audit.log";
  AuditLog log(
      AuditLog::Options{.file = file, .max_pending = 10, .retry_interval = 20ms, .fail_closed = true});
  log.record_line(get_line(0));
  ASSERT_TRUE(eventually([&] { return log.degraded(); }));
  EXPECT_FALSE(log.accepting());
  // Lines of requests admitted before the failure was seen are kept past max_pending, never dropped.
  for (int n = 1; n < 50; ++n) log.record_line(get_line(n));
  EXPECT_EQ(log.dropped(), 0U);
  EXPECT_EQ(log.health().pending, 50U);

  fs::create_directory(dir / "gone");
  ASSERT_TRUE(eventually([&] { return log.accepting(); })) << "service resumes by itself";
  log.flush();
  EXPECT_EQ(lines_of(read_text(file)).size(), 50U);
}

TEST(AuditFailClosedTest, StopsAcceptingWhenTheWaitingLinesWouldNotFitInHalfTheReserve) {
  // A FIFO with no reader: the writer blocks opening it, so every line waits, and none has failed yet.
  TempDir dir;
  const fs::path file = dir / "audit.log";
  ASSERT_EQ(::mkfifo(file.c_str(), 0600), 0);
  int reader = -1;
  {
    AuditLog log(AuditLog::Options{.file = file,
                                   .max_pending = 1000,
                                   .retry_interval = 20ms,
                                   .fail_closed = true,
                                   .file_limits = {.reserve_bytes = 2048}});
    for (int n = 0; n < 5; ++n) log.record_line(get_line(n));  // about 450 bytes
    EXPECT_TRUE(log.accepting());
    for (int n = 5; n < 15; ++n) log.record_line(get_line(n));  // past 1024
    EXPECT_FALSE(log.accepting()) << "admitted lines could outgrow the reserve on a full disk";
    EXPECT_FALSE(log.degraded());
    // A reader lets the writer through (it stays open until the writer has stopped: a FIFO without one
    // blocks the writer's next open).
    reader = ::open(file.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    ASSERT_GE(reader, 0);
    log.flush();
  }
  std::string text(65536, '\0');
  const ssize_t got = ::read(reader, text.data(), text.size());
  ::close(reader);
  ASSERT_GT(got, 0);
  text.resize(static_cast<std::size_t>(got));
  EXPECT_EQ(lines_of(text).size(), 15U);
}

TEST(AuditFailClosedTest, ServeModeAlwaysAcceptsAndDropsPastTheBound) {
  TempDir dir;
  AuditLog log(
      AuditLog::Options{.file = dir / "gone" / "audit.log", .max_pending = 10, .retry_interval = 20ms});
  log.record_line(get_line(0));
  ASSERT_TRUE(eventually([&] { return log.degraded(); }));
  EXPECT_TRUE(log.accepting());
  for (int n = 1; n < 50; ++n) log.record_line(get_line(n));
  EXPECT_GT(log.dropped(), 0U);
}

TEST(AuditFailClosedTest, RefusalsPastTheFirstOfASecondBecomeOneSummaryLine) {
  TempDir dir;
  AuditLog log(AuditLog::Options{.file = dir / "audit.log", .fail_closed = true});
  for (int i = 0; i < 100; ++i) {
    log.record(json{{"event", "secret.get"},
                    {"decision", "deny"},
                    {"outcome", "rate_limited"},
                    {"project", "webapp"},
                    {"peer", {{"uid", 4242}}}});
  }
  ASSERT_TRUE(eventually(
      [&] { return fs::exists(dir / "audit.log") && lines_of(read_text(dir / "audit.log")).size() >= 2; }));
  std::uint64_t full = 0;
  std::uint64_t counted = 0;
  for (const std::string& line : lines_of(read_text(dir / "audit.log"))) {
    const json event = json::parse(line);
    if (event["event"] == "audit.suppressed") {
      counted += event["count"].get<std::uint64_t>();
    } else {
      ++full;
    }
  }
  EXPECT_EQ(full + counted, 100U);
  EXPECT_LE(full, 2U) << "at most the first of each second (the loop may cross one)";
  EXPECT_EQ(log.health().suppressed, counted);
}

TEST(AuditFailClosedTest, TheFileRotatesBySizeAndKeepsTheConfiguredNumberOfFiles) {
  TempDir dir;
  const fs::path file = dir / "audit.log";
  {
    AuditLog log(AuditLog::Options{.file = file, .file_limits = {4096, 2, 0}});
    for (int n = 0; n < 400; ++n) log.record_line(get_line(n));
    log.flush();
  }
  EXPECT_TRUE(fs::exists(dir / "audit.log.1"));
  EXPECT_TRUE(fs::exists(dir / "audit.log.2"));
  EXPECT_FALSE(fs::exists(dir / "audit.log.3"));
  for (const char* name : {"audit.log", "audit.log.1", "audit.log.2"}) {
    EXPECT_LE(fs::file_size(dir / name), 4096U) << name;
    for (const std::string& line : lines_of(read_text(dir / name))) EXPECT_TRUE(json::accept(line)) << line;
  }
  // The newest lines are in audit.log, the last one last.
  const auto newest = lines_of(read_text(file));
  ASSERT_FALSE(newest.empty());
  EXPECT_EQ(json::parse(newest.back())["n"], 399);
}

}  // namespace
}  // namespace remo::core
