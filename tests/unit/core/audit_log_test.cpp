#include "broker/core/audit_log.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <csignal>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/core/temp_dir.hpp"

namespace remo::core {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using testing::lines_of;
using testing::read_text;
using testing::TempDir;

constexpr auto kRetry = 20ms;

AuditLog::Options options_for(const fs::path& file, std::size_t max_pending = 10000) {
  return AuditLog::Options{file, max_pending, kRetry};
}

// Every line of the file parsed as JSON; a line that does not parse fails the test.
std::vector<json> events_in(const fs::path& file) {
  std::vector<json> events;
  for (const std::string& line : lines_of(read_text(file))) {
    EXPECT_TRUE(json::accept(line)) << "not JSON: " << line;
    if (json::accept(line)) events.push_back(json::parse(line));
  }
  return events;
}

template <class Predicate>
bool eventually(Predicate predicate, std::chrono::milliseconds limit = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return predicate();
}

TEST(AuditLog, LinesAreValidJsonInRecordOrderWithTimestamps) {
  const TempDir dir;
  {
    AuditLog log(options_for(dir / "audit.log"));
    for (int i = 0; i < 200; ++i) log.record({{"event", "get"}, {"seq", i}});
    log.flush();
    EXPECT_FALSE(log.degraded());
    EXPECT_EQ(log.dropped(), 0u);
  }
  const auto events = events_in(dir / "audit.log");
  ASSERT_EQ(events.size(), 200u);
  const std::regex rfc3339(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z)");
  for (int i = 0; i < 200; ++i) {
    EXPECT_EQ(events[i]["seq"], i);
    EXPECT_TRUE(std::regex_match(events[i]["time"].get<std::string>(), rfc3339)) << events[i]["time"];
  }
}

TEST(AuditLog, RecordAndWaitReturnsWithTheEventsInTheFile) {
  const TempDir dir;
  AuditLog log(options_for(dir / "audit.log"));
  log.record({{"event", "before"}});
  std::vector<json> events{{{"event", "claim.claim"}, {"seq", 1}}, {{"event", "claim.delete"}, {"seq", 2}}};
  log.record_and_wait(events);
  EXPECT_TRUE(events.empty());
  const auto written = events_in(dir / "audit.log");  // read without flush(): already in the file
  ASSERT_EQ(written.size(), 3u);
  EXPECT_EQ(written[0]["event"], "before");
  EXPECT_EQ(written[1]["event"], "claim.claim");
  EXPECT_EQ(written[2]["seq"], 2);
}

TEST(AuditLog, RecordAndWaitDoesNotHangWhileUnwritable) {
  const TempDir dir;
  AuditLog log(options_for(dir / "later" / "audit.log"));
  std::vector<json> events{{{"event", "early"}}};
  log.record_and_wait(events);  // returns once the writer is degraded; the event stays queued
  EXPECT_TRUE(log.degraded());
  fs::create_directory(dir / "later");
  ASSERT_TRUE(eventually([&] { return !log.degraded(); }));
  log.flush();
  ASSERT_EQ(events_in(dir / "later" / "audit.log").size(), 1u);
}

TEST(AuditLog, ARecordedLineGetsTheTimeFirstAndStaysValidJson) {
  const TempDir dir;
  {
    AuditLog log(options_for(dir / "audit.log"));
    log.record_line(R"({"event":"secret.get","secret":"A"})");
    log.record_line("{}");
    log.record_line("not an object");  // a caller's bug: recorded as audit.malformed, never a broken line
    log.flush();
  }
  const auto events = events_in(dir / "audit.log");
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0]["event"], "secret.get");
  EXPECT_EQ(events[0]["secret"], "A");
  EXPECT_TRUE(events[0]["time"].is_string());
  EXPECT_EQ(events[1].size(), 1u);
  EXPECT_TRUE(events[1]["time"].is_string());
  EXPECT_EQ(events[2]["event"], "audit.malformed");
}

TEST(AuditLog, GivenTimeIsKept) {
  const TempDir dir;
  {
    AuditLog log(options_for(dir / "audit.log"));
    log.record({{"event", "x"}, {"time", "2000-01-01T00:00:00.000000Z"}});
  }
  const auto events = events_in(dir / "audit.log");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["time"], "2000-01-01T00:00:00.000000Z");
}

TEST(AuditLog, InvalidUtf8IsReplacedNotFatal) {
  const TempDir dir;
  {
    AuditLog log(options_for(dir / "audit.log"));
    log.record({{"event", "x"}, {"path", "/tmp/\xff\xfe"}});
    log.record({{"event", "y"}});
  }
  const auto events = events_in(dir / "audit.log");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1]["event"], "y");
}

TEST(AuditLog, FileIsCreatedOwnerOnlyAndAppendedTo) {
  const TempDir dir;
  testing::write_text(dir / "audit.log", "{\"event\":\"earlier\"}\n");
  {
    AuditLog log(options_for(dir / "audit.log"));
    log.record({{"event", "later"}});
  }
  const auto events = events_in(dir / "audit.log");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0]["event"], "earlier");
  EXPECT_EQ(events[1]["event"], "later");

  const TempDir fresh;
  { AuditLog log(options_for(fresh / "audit.log")); }
  AuditLog log(options_for(fresh / "audit.log"));
  log.record({{"event", "x"}});
  log.flush();
  struct stat info {};
  ASSERT_EQ(::stat((fresh / "audit.log").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
}

TEST(AuditLog, DestructorWritesEverythingStillQueued) {
  const TempDir dir;
  {
    AuditLog log(options_for(dir / "audit.log"));
    for (int i = 0; i < 1000; ++i) log.record({{"event", "e"}, {"seq", i}});
  }
  const auto events = events_in(dir / "audit.log");
  ASSERT_EQ(events.size(), 1000u);
  EXPECT_EQ(events.back()["seq"], 999);
}

TEST(AuditLog, ConcurrentRecordsAreAllWrittenWholeAndInPerThreadOrder) {
  const TempDir dir;
  constexpr int kThreads = 6;
  constexpr int kPerThread = 2000;
  {
    // Room for the whole burst: this test is about interleaving, not the bound.
    AuditLog log(options_for(dir / "audit.log", kThreads * kPerThread));
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&log, t] {
        for (int i = 0; i < kPerThread; ++i) {
          log.record({{"event", "get"},
                      {"thread", t},
                      {"seq", i},
                      {"pad", std::string(static_cast<std::size_t>(i % 97), 'p')}});
        }
      });
    }
    for (auto& thread : threads) thread.join();
    log.flush();
    EXPECT_EQ(log.dropped(), 0u);
  }
  const auto events = events_in(dir / "audit.log");
  ASSERT_EQ(events.size(), static_cast<std::size_t>(kThreads * kPerThread));
  std::vector<int> next(kThreads, 0);
  for (const auto& event : events) {
    const int t = event["thread"];
    EXPECT_EQ(event["seq"], next[t]) << "thread " << t;
    next[t] = event["seq"].get<int>() + 1;
  }
}

TEST(AuditLog, BurstBeyondTheBoundIsCountedAndReportedInTheLog) {
  const TempDir dir;
  constexpr int kEvents = 5000;
  std::uint64_t dropped = 0;
  {
    AuditLog log(options_for(dir / "audit.log", 8));
    for (int i = 0; i < kEvents; ++i) log.record({{"event", "burst"}, {"seq", i}});
    log.flush();
    dropped = log.dropped();
  }
  // Every event is either in the file or counted by an audit.dropped line; kept events stay in order.
  std::uint64_t reported = 0;
  std::uint64_t kept = 0;
  int last_seq = -1;
  for (const auto& event : events_in(dir / "audit.log")) {
    if (event["event"] == "audit.dropped") {
      reported += event["count"].get<std::uint64_t>();
      continue;
    }
    EXPECT_GT(event["seq"].get<int>(), last_seq);
    last_seq = event["seq"];
    ++kept;
  }
  EXPECT_EQ(reported, dropped);
  EXPECT_EQ(kept + dropped, static_cast<std::uint64_t>(kEvents));
}

TEST(AuditLog, RemovedFileIsRecreated) {
  const TempDir dir;
  AuditLog log(options_for(dir / "audit.log"));
  log.record({{"event", "before"}});
  log.flush();
  fs::remove(dir / "audit.log");
  std::this_thread::sleep_for(kRetry * 2);
  log.record({{"event", "after"}});
  log.flush();
  EXPECT_FALSE(log.degraded());
  const auto events = events_in(dir / "audit.log");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["event"], "after");
}

TEST(AuditLog, RenamedFileIsReopenedAtThePath) {
  const TempDir dir;
  AuditLog log(options_for(dir / "audit.log"));
  log.record({{"event", "one"}});
  log.flush();
  fs::rename(dir / "audit.log", dir / "audit.log.1");  // what logrotate does
  std::this_thread::sleep_for(kRetry * 2);
  log.record({{"event", "two"}});
  log.flush();
  const auto rotated = events_in(dir / "audit.log.1");
  const auto current = events_in(dir / "audit.log");
  ASSERT_EQ(rotated.size(), 1u);
  ASSERT_EQ(current.size(), 1u);
  EXPECT_EQ(rotated[0]["event"], "one");
  EXPECT_EQ(current[0]["event"], "two");
}

TEST(AuditLog, KeepsABoundedQueueWhileUnwritableThenReportsDropsOnRecovery) {
  const TempDir dir;
  const auto log_dir = dir / "log";
  fs::create_directory(log_dir);
  constexpr std::size_t kMaxPending = 5;
  AuditLog log(options_for(log_dir / "audit.log", kMaxPending));
  log.record({{"event", "first"}});
  log.flush();

  fs::remove_all(log_dir);
  std::this_thread::sleep_for(kRetry * 2);
  for (int i = 0; i < 20; ++i) log.record({{"event", "queued"}, {"seq", i}});
  log.flush();
  EXPECT_TRUE(log.degraded());
  EXPECT_EQ(log.dropped(), 15u);

  // Still degraded after a few retries: nothing is lost beyond the bound, nothing spins.
  std::this_thread::sleep_for(kRetry * 3);
  EXPECT_TRUE(log.degraded());
  EXPECT_EQ(log.dropped(), 15u);

  fs::create_directory(log_dir);
  ASSERT_TRUE(eventually([&] { return !log.degraded(); }));
  log.flush();
  log.record({{"event", "after"}});
  log.flush();

  const auto events = events_in(log_dir / "audit.log");
  ASSERT_EQ(events.size(), 1u + kMaxPending + 1u);
  EXPECT_EQ(events[0]["event"], "audit.dropped");
  EXPECT_EQ(events[0]["count"], 15);
  for (std::size_t i = 0; i < kMaxPending; ++i) {
    EXPECT_EQ(events[1 + i]["event"], "queued");
    EXPECT_EQ(events[1 + i]["seq"], static_cast<int>(i));
  }
  EXPECT_EQ(events.back()["event"], "after");
  EXPECT_EQ(log.dropped(), 15u);
}

TEST(AuditLog, UnwritableAtStartIsDegradedAndRecovers) {
  const TempDir dir;
  AuditLog log(options_for(dir / "later" / "audit.log"));
  log.record({{"event", "early"}});
  log.flush();
  EXPECT_TRUE(log.degraded());
  fs::create_directory(dir / "later");
  ASSERT_TRUE(eventually([&] { return !log.degraded(); }));
  log.flush();
  const auto events = events_in(dir / "later" / "audit.log");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["event"], "early");
}

TEST(AuditLog, DestructorDoesNotHangWhenTheFileCannotBeWritten) {
  const TempDir dir;
  const auto start = std::chrono::steady_clock::now();
  {
    AuditLog log(AuditLog::Options{dir / "missing" / "audit.log", 100, std::chrono::milliseconds(60000)});
    for (int i = 0; i < 10; ++i) log.record({{"event", "lost"}});
    log.flush();
    EXPECT_TRUE(log.degraded());
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

// RLIMIT_FSIZE makes write() stop short at the limit and then fail with EFBIG: a real short write.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    ::getrlimit(RLIMIT_FSIZE, &saved_);
    previous_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    set(bytes);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &saved_);
    std::signal(SIGXFSZ, previous_handler_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;
  void set(rlim_t bytes) {
    rlimit limit = saved_;
    limit.rlim_cur = bytes;
    ::setrlimit(RLIMIT_FSIZE, &limit);
  }
  void lift() { ::setrlimit(RLIMIT_FSIZE, &saved_); }

 private:
  rlimit saved_{};
  void (*previous_handler_)(int) = nullptr;
};

TEST(AuditLog, ShortWriteNeverLeavesATornLine) {
  const TempDir dir;
  AuditLog log(options_for(dir / "audit.log"));
  FileSizeLimit limit(1000);
  for (int i = 0; i < 40; ++i) log.record({{"event", "e"}, {"seq", i}, {"pad", std::string(30, 'x')}});
  log.flush();
  EXPECT_TRUE(log.degraded());

  // Whatever reached the file so far is whole lines only.
  const std::string partial = read_text(dir / "audit.log");
  ASSERT_FALSE(partial.empty());
  EXPECT_LE(partial.size(), 1000u);
  EXPECT_EQ(partial.back(), '\n');

  limit.lift();
  ASSERT_TRUE(eventually([&] { return !log.degraded(); }));
  log.flush();
  const auto events = events_in(dir / "audit.log");
  ASSERT_EQ(events.size(), 40u);
  for (int i = 0; i < 40; ++i) EXPECT_EQ(events[i]["seq"], i);
  EXPECT_EQ(log.dropped(), 0u);
}

}  // namespace
}  // namespace remo::core
