#include "broker/core/claim_ledger.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <barrier>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "broker/core/claim_journal.hpp"
#include "broker/core/state_file.hpp"
#include "broker/crypto/age.hpp"

namespace remo::core {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;
using std::chrono::system_clock;

constexpr std::string_view kCanary = "CANARY-one-shot-value-5f1d";

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "claim-ledger-test-XXXXXX").string();
    const char* made = ::mkdtemp(pattern.data());
    if (made == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = made;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// A clock the test moves by hand.
struct FakeClock {
  std::shared_ptr<std::atomic<std::int64_t>> unix_seconds =
      std::make_shared<std::atomic<std::int64_t>>(1'700'000'000);
  ClaimLedger::Clock clock() const {
    return [now = unix_seconds] { return system_clock::time_point(seconds(now->load())); };
  }
  void advance(std::int64_t by) { unix_seconds->fetch_add(by); }
  system_clock::time_point now() const { return system_clock::time_point(seconds(unix_seconds->load())); }
};

crypto::SecureBuffer secret(std::string_view text) { return crypto::SecureBuffer::copy_of(text); }

std::string canary_value(int i) { return std::string(kCanary) + "-" + std::to_string(i); }

class ClaimLedgerTest : public ::testing::Test {
 protected:
  fs::path state_dir() const { return dir_.path() / "state"; }
  fs::path file() const { return state_dir() / std::string(ClaimLedger::kFileName); }

  void SetUp() override { ASSERT_TRUE(ensure_directory(state_dir(), 0700)); }

  ClaimLedger::Options options() const {
    ClaimLedger::Options o;
    o.file = file();
    o.recipient = identity_.recipient();
    o.clock = clock_.clock();
    return o;
  }

  ClaimLedger open() const { return open_with(options(), std::span(&identity_, 1)); }

  static ClaimLedger open_with(ClaimLedger::Options o, std::span<const crypto::X25519Identity> ids) {
    auto ledger = ClaimLedger::open(std::move(o), ids);
    if (!ledger) throw std::runtime_error("open failed: " + ledger.error().message);
    return std::move(ledger).value();
  }

  std::string create(ClaimLedger& ledger, std::string_view project, std::string_view value,
                     std::int64_t ttl = 600) {
    auto ticket = ledger.create(project, secret(value), false, ttl);
    if (!ticket) throw std::runtime_error("create failed: " + ticket.error().message);
    return std::string(ticket->token.view());
  }

  // n secrets created concurrently (they share writes), values canary_value(0..n-1); returns the tokens.
  static std::vector<std::string> create_many(ClaimLedger& ledger, int n) {
    std::vector<std::string> tokens(static_cast<std::size_t>(n));
    std::atomic<int> next{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 16; ++t) {
      threads.emplace_back([&] {
        for (int i; (i = next.fetch_add(1)) < n;) {
          auto ticket = ledger.create("proj", secret(canary_value(i)), false, 600);
          if (ticket) tokens[static_cast<std::size_t>(i)] = std::string(ticket->token.view());
        }
      });
    }
    for (auto& t : threads) t.join();
    for (const auto& token : tokens) {
      if (token.empty()) throw std::runtime_error("create failed");
    }
    return tokens;
  }

  std::string decrypted_file() const {
    auto bytes = read_file_if_exists(file());
    if (!bytes || !bytes->has_value()) throw std::runtime_error("no ledger file");
    auto plain = crypto::decrypt(**bytes, std::span(&identity_, 1));
    if (!plain) throw std::runtime_error("ledger does not decrypt");
    return std::string(plain->view());
  }

  // Makes every write of the ledger fail the way a full disk does: a write past 64 bytes of any file gets
  // EFBIG (RLIMIT_FSIZE, with SIGXFSZ ignored). Moving the state dir away would not do: the journal is
  // written through a descriptor that stays open. Per process; restored by allow_writes() or TearDown.
  void fail_writes() {
    ::signal(SIGXFSZ, SIG_IGN);
    ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved_limit_), 0);
    const rlimit tiny{64, saved_limit_.rlim_max};
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &tiny), 0);
    limited_ = true;
  }
  void allow_writes() {
    if (limited_) {
      ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &saved_limit_), 0);
    }
    limited_ = false;
  }
  void TearDown() override { allow_writes(); }

  std::string journal_bytes() const { return read_text_file(ClaimLedger::journal_file(file())); }
  static std::string read_text_file(const fs::path& path) {
    auto bytes = read_file_if_exists(path);
    if (!bytes || !bytes->has_value()) return {};
    return std::string((*bytes)->begin(), (*bytes)->end());
  }

  rlimit saved_limit_{};
  bool limited_ = false;
  TempDir dir_;
  crypto::X25519Identity identity_ = crypto::X25519Identity::generate();
  FakeClock clock_;
};

std::optional<ClaimInfo> find_info(const ClaimLedger& ledger, std::string_view id) {
  for (auto& info : ledger.list()) {
    if (info.id == id) return info;
  }
  return std::nullopt;
}

TEST_F(ClaimLedgerTest, CreateThenClaimHandsTheValueOutOnce) {
  auto ledger = open();
  auto ticket = ledger.create("proj", secret("s3cret"), true, 60);
  ASSERT_TRUE(ticket) << ticket.error().message;
  EXPECT_EQ(ticket->id.size(), 16u);
  EXPECT_EQ(ticket->expires_at, std::chrono::floor<seconds>(clock_.now()) + seconds(60));

  auto value = ledger.claim("proj", ticket->token.view());
  ASSERT_TRUE(value) << value.error().message;
  EXPECT_EQ(value->bytes.view(), "s3cret");
  EXPECT_TRUE(value->from_base64);

  auto again = ledger.claim("proj", ticket->token.view());
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, "not_found");
  EXPECT_EQ(find_info(ledger, ticket->id)->state, ClaimState::kClaimed);
  EXPECT_EQ(ledger.pending_count(), 0u);
}

TEST_F(ClaimLedgerTest, ClaimIsExactlyOnceUnderConcurrency) {
  auto ledger = open();
  for (int round = 0; round < 20; ++round) {
    const std::string token = create(ledger, "proj", canary_value(round));
    constexpr int kThreads = 16;
    std::atomic<int> successes{0};
    std::atomic<int> not_found{0};
    std::barrier start(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        start.arrive_and_wait();
        auto value = ledger.claim("proj", token);
        if (value) {
          EXPECT_EQ(value->bytes.view(), canary_value(round));
          successes.fetch_add(1);
        } else if (value.error().code == "not_found") {
          not_found.fetch_add(1);
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(successes.load(), 1) << "round " << round;
    EXPECT_EQ(not_found.load(), kThreads - 1) << "round " << round;
  }
}

TEST_F(ClaimLedgerTest, ManyTokensClaimedByManyThreadsEachGoOutExactlyOnce) {
  auto ledger = open();
  constexpr int kTokens = 300;
  constexpr int kThreads = 16;
  const std::vector<std::string> tokens = create_many(ledger, kTokens);

  std::vector<std::atomic<int>> claims(kTokens);
  std::barrier start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<int> order(kTokens);
      for (int i = 0; i < kTokens; ++i) order[i] = i;
      std::shuffle(order.begin(), order.end(), std::mt19937(static_cast<unsigned>(t)));
      start.arrive_and_wait();
      for (int i : order) {
        auto value = ledger.claim("proj", tokens[i]);
        if (value) {
          EXPECT_EQ(value->bytes.view(), canary_value(i));
          claims[i].fetch_add(1);
        } else {
          EXPECT_EQ(value.error().code, "not_found");
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kTokens; ++i) EXPECT_EQ(claims[i].load(), 1) << "token " << i;

  // And the file agrees after a restart: nothing is claimable any more.
  auto reopened = open();
  EXPECT_EQ(reopened.pending_count(), 0u);
  for (int i = 0; i < kTokens; i += 37) EXPECT_FALSE(reopened.claim("proj", tokens[i]));
}

TEST_F(ClaimLedgerTest, PendingSecretSurvivesARestart) {
  std::string token;
  {
    auto ledger = open();
    token = create(ledger, "proj", "survivor");
  }
  auto ledger = open();
  EXPECT_EQ(ledger.pending_count(), 1u);
  auto value = ledger.claim("proj", token);
  ASSERT_TRUE(value) << value.error().message;
  EXPECT_EQ(value->bytes.view(), "survivor");
}

TEST_F(ClaimLedgerTest, ClaimedSecretStaysClaimedAfterARestart) {
  std::string token;
  std::string id;
  {
    auto ledger = open();
    auto ticket = ledger.create("proj", secret("once"), false, 600);
    ASSERT_TRUE(ticket);
    token = std::string(ticket->token.view());
    id = ticket->id;
    ASSERT_TRUE(ledger.claim("proj", token));
  }
  auto ledger = open();
  auto again = ledger.claim("proj", token);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, "not_found");
  auto info = find_info(ledger, id);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->state, ClaimState::kClaimed);
  EXPECT_TRUE(info->finished_at.has_value());
}

TEST_F(ClaimLedgerTest, DiscardIsDurable) {
  std::string token;
  {
    auto ledger = open();
    token = create(ledger, "proj", std::string(kCanary));
    ASSERT_TRUE(ledger.discard("proj", token));
    auto twice = ledger.discard("proj", token);
    ASSERT_FALSE(twice);
    EXPECT_EQ(twice.error().code, "not_found");
  }
  {
    auto ledger = open();  // the discard was a journal frame; compaction folds it into the snapshot
    ASSERT_TRUE(ledger.compact());
    EXPECT_EQ(journal_bytes(), "");
  }
  EXPECT_EQ(decrypted_file().find(kCanary), std::string::npos);
  auto ledger = open();
  EXPECT_FALSE(ledger.claim("proj", token));
  ASSERT_EQ(ledger.list().size(), 1u);
  EXPECT_EQ(ledger.list()[0].state, ClaimState::kDeleted);
}

TEST_F(ClaimLedgerTest, AnotherProjectCannotClaimOrDiscardAndLearnsNothing) {
  auto ledger = open();
  const std::string token = create(ledger, "alpha", "for alpha only");
  const std::string unknown = "rbc_" + std::string(43, 'A');

  auto wrong = ledger.claim("beta", token);
  auto missing = ledger.claim("beta", unknown);
  ASSERT_FALSE(wrong);
  ASSERT_FALSE(missing);
  EXPECT_EQ(wrong.error().code, "not_found");
  EXPECT_EQ(wrong.error().code, missing.error().code);
  EXPECT_EQ(wrong.error().message, missing.error().message);
  EXPECT_FALSE(ledger.discard("beta", token));

  auto value = ledger.claim("alpha", token);
  ASSERT_TRUE(value);
  EXPECT_EQ(value->bytes.view(), "for alpha only");

  // A claimed token answers exactly like an unknown one.
  auto claimed = ledger.claim("alpha", token);
  ASSERT_FALSE(claimed);
  EXPECT_EQ(claimed.error().message, missing.error().message);
}

TEST_F(ClaimLedgerTest, ExpiredSecretCannotBeClaimedAndIsWiped) {
  auto ledger = open();
  auto ticket = ledger.create("proj", secret(kCanary), false, 30);
  ASSERT_TRUE(ticket);
  const std::string token(ticket->token.view());
  EXPECT_NE(decrypted_file().find(kCanary), std::string::npos);  // pending: in the (encrypted) file

  clock_.advance(30);
  auto late = ledger.claim("proj", token);
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, "not_found");
  EXPECT_EQ(find_info(ledger, ticket->id)->state, ClaimState::kExpired);  // effective before expire()

  auto expired = ledger.expire(clock_.now());
  ASSERT_TRUE(expired);
  ASSERT_EQ(expired->size(), 1u);
  EXPECT_EQ(expired->front().id, ticket->id);
  EXPECT_EQ(expired->front().project, "proj");
  EXPECT_EQ(expired->front().state, ClaimState::kExpired);
  EXPECT_EQ(ledger.pending_count(), 0u);
  ASSERT_TRUE(ledger.compact());
  EXPECT_EQ(decrypted_file().find(kCanary), std::string::npos);

  auto nothing = ledger.expire(clock_.now());
  ASSERT_TRUE(nothing);
  EXPECT_TRUE(nothing->empty());

  auto reopened = open();
  auto info = find_info(reopened, ticket->id);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->state, ClaimState::kExpired);
  EXPECT_FALSE(reopened.claim("proj", token));
}

TEST_F(ClaimLedgerTest, ExpireLeavesUnexpiredSecretsAlone) {
  auto ledger = open();
  auto short_lived = ledger.create("proj", secret("a"), false, 10);
  auto long_lived = ledger.create("proj", secret("b"), false, 1000);
  ASSERT_TRUE(short_lived && long_lived);
  clock_.advance(10);
  auto expired = ledger.expire(clock_.now());
  ASSERT_TRUE(expired);
  ASSERT_EQ(expired->size(), 1u);
  EXPECT_EQ(expired->front().id, short_lived->id);
  EXPECT_TRUE(ledger.claim("proj", long_lived->token.view()));
}

TEST_F(ClaimLedgerTest, ListNeverContainsTokenOrValue) {
  auto ledger = open();
  std::vector<std::string> tokens;
  for (int i = 0; i < 4; ++i) tokens.push_back(create(ledger, "proj", canary_value(i)));
  ASSERT_TRUE(ledger.claim("proj", tokens[0]));
  ASSERT_TRUE(ledger.discard("proj", tokens[1]));
  ASSERT_TRUE(ledger.revoke(ledger.list()[0].id));

  nlohmann::json rows = nlohmann::json::array();
  for (const auto& info : ledger.list()) {
    rows.push_back({{"id", info.id},
                    {"project", info.project},
                    {"created_at", info.created_at.time_since_epoch().count()},
                    {"expires_at", info.expires_at.time_since_epoch().count()},
                    {"finished_at", info.finished_at ? info.finished_at->time_since_epoch().count() : 0},
                    {"state", std::string(to_string(info.state))}});
  }
  const std::string text = rows.dump();
  EXPECT_EQ(rows.size(), 4u);
  EXPECT_EQ(text.find(kCanary), std::string::npos);
  EXPECT_EQ(text.find("rbc_"), std::string::npos);
  for (const auto& token : tokens) EXPECT_EQ(text.find(token.substr(4)), std::string::npos);
  // One of each finished state, one still pending.
  std::multiset<std::string> states;
  for (const auto& row : rows) states.insert(row["state"].get<std::string>());
  EXPECT_EQ(states, (std::multiset<std::string>{"claimed", "deleted", "revoked", "pending"}));
}

TEST_F(ClaimLedgerTest, WriteFailureFailsTheClaimAndLeavesTheSecretClaimable) {
  auto ledger = open();
  const std::string token = create(ledger, "proj", "still here");

  fail_writes();
  auto failed = ledger.claim("proj", token);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, "internal_error");
  EXPECT_EQ(failed.error().message.find("still here"), std::string::npos);
  EXPECT_FALSE(ledger.discard("proj", token));
  EXPECT_EQ(ledger.discard("proj", token).error().code, "internal_error");
  EXPECT_EQ(ledger.list().at(0).state, ClaimState::kPending);

  auto created = ledger.create("proj", secret("never"), false, 60);
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().code, "internal_error");
  EXPECT_EQ(ledger.pending_count(), 1u);  // the failed create left nothing behind

  allow_writes();
  auto value = ledger.claim("proj", token);
  ASSERT_TRUE(value) << value.error().message;
  EXPECT_EQ(value->bytes.view(), "still here");
}

TEST_F(ClaimLedgerTest, FailedBatchRevertsEveryClaimInIt) {
  auto ledger = open();
  constexpr int kThreads = 8;
  std::vector<std::string> tokens;
  for (int i = 0; i < kThreads; ++i) tokens.push_back(create(ledger, "proj", canary_value(i)));

  fail_writes();
  std::atomic<int> internal_errors{0};
  std::barrier start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      auto value = ledger.claim("proj", tokens[t]);
      EXPECT_FALSE(value);
      if (!value && value.error().code == "internal_error") internal_errors.fetch_add(1);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(internal_errors.load(), kThreads);

  allow_writes();
  auto reopened = open();  // the file never changed
  for (int i = 0; i < kThreads; ++i) {
    auto value = reopened.claim("proj", tokens[i]);
    ASSERT_TRUE(value);
    EXPECT_EQ(value->bytes.view(), canary_value(i));
  }
}

TEST_F(ClaimLedgerTest, TokensAreAtLeast128BitsAndUrlSafe) {
  auto ledger = open();
  std::set<std::string> seen;
  std::set<std::string> ids;
  for (int i = 0; i < 64; ++i) {
    auto ticket = ledger.create("proj", secret("v"), false, 60);
    ASSERT_TRUE(ticket);
    const std::string token(ticket->token.view());
    ASSERT_TRUE(token.starts_with("rbc_"));
    const std::string body = token.substr(4);
    EXPECT_GE(body.size() * 6, 128u);  // 6 bits per base64 character
    EXPECT_EQ(body.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
              std::string::npos);
    EXPECT_TRUE(seen.insert(token).second);
    EXPECT_TRUE(ids.insert(ticket->id).second);
    EXPECT_EQ(ticket->id.find_first_not_of("0123456789abcdef"), std::string::npos);
  }
}

TEST_F(ClaimLedgerTest, LedgerFileNeverHoldsTheValueOrTokenInTheClear) {
  auto ledger = open();
  const std::string token = create(ledger, "proj", std::string(kCanary));
  auto bytes = read_file_if_exists(file());
  ASSERT_TRUE(bytes && bytes->has_value());
  const std::string raw((*bytes)->begin(), (*bytes)->end());
  EXPECT_TRUE(raw.starts_with("age-encryption.org/v1\n"));
  EXPECT_EQ(raw.find(kCanary), std::string::npos);
  EXPECT_EQ(raw.find(token), std::string::npos);
  // Inside, the token is only there as a keyed hash.
  EXPECT_EQ(decrypted_file().find(token.substr(4)), std::string::npos);

  struct stat info {};
  ASSERT_EQ(::stat(file().c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
}

// After the first write (a snapshot: there is none yet), changes are journal frames: the snapshot file is
// not rewritten per claim, the journal holds no value or token in the clear, and a restart replays it.
TEST_F(ClaimLedgerTest, ChangesAfterTheFirstSnapshotAreAppendedToTheJournal) {
  std::vector<std::string> tokens;
  {
    auto ledger = open();
    tokens.push_back(create(ledger, "proj", canary_value(0)));  // the first snapshot
    const auto snapshot_before = fs::last_write_time(file());
    struct stat before {};
    ASSERT_EQ(::stat(file().c_str(), &before), 0);
    for (int i = 1; i < 4; ++i) tokens.push_back(create(ledger, "proj", canary_value(i)));
    ASSERT_TRUE(ledger.claim("proj", tokens[0]));
    ASSERT_TRUE(ledger.discard("proj", tokens[1]));
    EXPECT_EQ(fs::last_write_time(file()), snapshot_before);
    struct stat after {};
    ASSERT_EQ(::stat(file().c_str(), &after), 0);
    EXPECT_EQ(after.st_ino, before.st_ino);  // not replaced
    const std::string journal = journal_bytes();
    EXPECT_FALSE(journal.empty());
    EXPECT_EQ(journal.find(kCanary), std::string::npos);
    for (const auto& token : tokens) EXPECT_EQ(journal.find(token.substr(4)), std::string::npos);
  }
  auto ledger = open();
  EXPECT_EQ(ledger.pending_count(), 2u);
  EXPECT_FALSE(ledger.claim("proj", tokens[0]));
  EXPECT_FALSE(ledger.claim("proj", tokens[1]));
  auto value = ledger.claim("proj", tokens[3]);
  ASSERT_TRUE(value);
  EXPECT_EQ(value->bytes.view(), canary_value(3));
  std::multiset<std::string_view> states;
  for (const auto& info : ledger.list()) states.insert(to_string(info.state));
  EXPECT_EQ(states, (std::multiset<std::string_view>{"pending", "claimed", "deleted", "claimed"}));
}

TEST_F(ClaimLedgerTest, CompactionFoldsTheJournalIntoTheSnapshot) {
  auto ledger = open();
  const std::string kept = create(ledger, "proj", "kept");
  const std::string taken = create(ledger, "proj", std::string(kCanary));
  ASSERT_TRUE(ledger.claim("proj", taken));
  ASSERT_NE(journal_bytes(), "");
  ASSERT_TRUE(ledger.compact());
  EXPECT_EQ(journal_bytes(), "");
  EXPECT_EQ(decrypted_file().find(kCanary), std::string::npos);  // the claimed value is gone from disk
  const auto snapshot_after = fs::last_write_time(file());
  ASSERT_TRUE(ledger.compact());  // nothing to fold: no write
  EXPECT_EQ(fs::last_write_time(file()), snapshot_after);

  auto reopened = open();
  EXPECT_EQ(reopened.pending_count(), 1u);
  EXPECT_FALSE(reopened.claim("proj", taken));
  EXPECT_TRUE(reopened.claim("proj", kept));
}

// A crash during an append leaves a frame cut short: it was never acknowledged, so the change it carried
// did not happen. A whole last frame that does not decrypt was torn below the file system: the same.
TEST_F(ClaimLedgerTest, ATornLastJournalFrameIsDroppedAndTheRestReplays) {
  std::string first;
  std::string second;
  {
    auto ledger = open();
    first = create(ledger, "proj", "one");
    second = create(ledger, "proj", "two");
    ASSERT_TRUE(ledger.claim("proj", first));
    ASSERT_TRUE(ledger.claim("proj", second));  // the last frame
  }
  const fs::path journal = ClaimLedger::journal_file(file());
  const auto whole = fs::file_size(journal);
  fs::resize_file(journal, whole - 5);
  {
    auto ledger = open();
    EXPECT_FALSE(ledger.claim("proj", first));  // its frame was whole
    auto value = ledger.claim("proj", second);  // its claim never became durable
    ASSERT_TRUE(value);
    EXPECT_EQ(value->bytes.view(), "two");
  }
  // The same with the last frame's length intact and a byte of its ciphertext flipped.
  std::string bytes = read_text_file(journal);
  bytes[bytes.size() - 3] = static_cast<char>(bytes[bytes.size() - 3] ^ 0x40);
  ASSERT_TRUE(write_file_atomically(journal, std::string_view(bytes), 0600));
  auto ledger = open();
  EXPECT_EQ(ledger.pending_count(), 1u);
  EXPECT_LT(fs::file_size(journal), bytes.size());
}

TEST_F(ClaimLedgerTest, ACorruptFrameBeforeTheLastIsAnError) {
  {
    auto ledger = open();
    const std::string a = create(ledger, "proj", "a");
    const std::string b = create(ledger, "proj", "b");
    ASSERT_TRUE(ledger.claim("proj", a));
    ASSERT_TRUE(ledger.claim("proj", b));
  }
  const fs::path journal = ClaimLedger::journal_file(file());
  std::string bytes = read_text_file(journal);
  bytes[ClaimJournal::kHeaderSize + 40] = static_cast<char>(bytes[ClaimJournal::kHeaderSize + 40] ^ 0x01);
  ASSERT_TRUE(write_file_atomically(journal, std::string_view(bytes), 0600));
  auto ledger = ClaimLedger::open(options(), std::span(&identity_, 1));
  ASSERT_FALSE(ledger);
  EXPECT_EQ(ledger.error().code, "internal_error");
  EXPECT_NE(ledger.error().message.find("claims.journal"), std::string::npos) << ledger.error().message;
  EXPECT_EQ(read_text_file(journal), bytes);  // left for the operator, not cut
}

// Frames written before a snapshot are folded into it; if they are still in the file (the journal could not
// be emptied, or an old copy was put back) they belong to another generation and are ignored.
TEST_F(ClaimLedgerTest, FramesOfAnEarlierGenerationAreIgnored) {
  const fs::path journal = ClaimLedger::journal_file(file());
  std::string created;
  std::string old_frames;
  {
    auto ledger = open();
    const std::string claimed = create(ledger, "proj", "claimed before the snapshot");
    created = create(ledger, "proj", "created in a frame");
    ASSERT_TRUE(ledger.claim("proj", claimed));
    old_frames = read_text_file(journal);
    ASSERT_TRUE(ledger.compact());
    ASSERT_TRUE(ledger.claim("proj", created));  // a frame of the new generation
  }
  ASSERT_TRUE(write_file_atomically(journal, std::string_view(old_frames + read_text_file(journal)), 0600));
  auto ledger = open();
  EXPECT_EQ(ledger.pending_count(), 0u);  // the old frames did not re-create or double-finish anything
  EXPECT_FALSE(ledger.claim("proj", created));
}

TEST_F(ClaimLedgerTest, RekeyStartsTheJournalAfresh) {
  const auto next = crypto::X25519Identity::generate();
  auto ledger = open();
  const std::string a = create(ledger, "proj", "a");
  const std::string b = create(ledger, "proj", "b");
  ASSERT_TRUE(ledger.claim("proj", a));
  ASSERT_NE(journal_bytes(), "");
  ASSERT_TRUE(ledger.rekey(next.recipient()));
  EXPECT_EQ(journal_bytes(), "");  // no frame left that the old key opens
}

TEST_F(ClaimLedgerTest, RevokeByIdIsDurable) {
  std::string token;
  std::string id;
  {
    auto ledger = open();
    auto ticket = ledger.create("proj", secret("revoked"), false, 60);
    ASSERT_TRUE(ticket);
    token = std::string(ticket->token.view());
    id = ticket->id;
    ASSERT_TRUE(ledger.revoke(id));
    auto twice = ledger.revoke(id);
    ASSERT_FALSE(twice);
    EXPECT_EQ(twice.error().code, "not_found");
    EXPECT_EQ(ledger.revoke("not-an-id").error().code, "not_found");
  }
  auto ledger = open();
  EXPECT_FALSE(ledger.claim("proj", token));
  EXPECT_EQ(find_info(ledger, id)->state, ClaimState::kRevoked);
}

TEST_F(ClaimLedgerTest, CreateRejectsBadInput) {
  auto ledger = open();
  EXPECT_EQ(ledger.create("proj", secret("v"), false, 0).error().code, "protocol_error");
  EXPECT_EQ(ledger.create("proj", secret("v"), false, ClaimLedger::kMaxTtlSeconds + 1).error().code,
            "protocol_error");
  EXPECT_EQ(ledger.create("proj", crypto::SecureBuffer(), false, 60).error().code, "protocol_error");
  EXPECT_EQ(
      ledger.create("proj", crypto::SecureBuffer(ClaimLedger::kMaxValueBytes + 1), false, 60).error().code,
      "protocol_error");
  EXPECT_EQ(ledger.create("Bad Name", secret("v"), false, 60).error().code, "protocol_error");
  EXPECT_TRUE(ledger.create("proj", secret("v"), false, ClaimLedger::kMaxTtlSeconds));
  EXPECT_EQ(ledger.pending_count(), 1u);
}

TEST_F(ClaimLedgerTest, PendingSecretsAreBounded) {
  auto o = options();
  o.max_pending = 2;
  auto ledger = open_with(o, std::span(&identity_, 1));
  EXPECT_TRUE(ledger.create("proj", secret("1"), false, 60));
  EXPECT_TRUE(ledger.create("proj", secret("2"), false, 60));
  EXPECT_EQ(ledger.create("proj", secret("3"), false, 60).error().code, "protocol_error");

  auto by_size = options();
  by_size.file = state_dir() / "by-size.enc";
  by_size.max_pending_bytes = 10;
  auto small = open_with(by_size, std::span(&identity_, 1));
  EXPECT_TRUE(small.create("proj", secret("123456"), false, 60));
  EXPECT_EQ(small.create("proj", secret("12345"), false, 60).error().code, "protocol_error");
  EXPECT_TRUE(small.create("proj", secret("1234"), false, 60));
}

TEST_F(ClaimLedgerTest, TombstonesAreBounded) {
  auto o = options();
  o.max_finished = 3;
  auto ledger = open_with(o, std::span(&identity_, 1));
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    auto ticket = ledger.create("proj", secret("v"), false, 60);
    ASSERT_TRUE(ticket);
    ids.push_back(ticket->id);
    ASSERT_TRUE(ledger.claim("proj", ticket->token.view()));
  }
  auto listed = ledger.list();
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_EQ(listed[0].id, ids[2]);
  EXPECT_EQ(listed[2].id, ids[4]);
  EXPECT_EQ(open_with(o, std::span(&identity_, 1)).list().size(), 3u);
}

TEST_F(ClaimLedgerTest, RekeyReencryptsToTheNewRecipient) {
  const auto next = crypto::X25519Identity::generate();
  std::string token;
  {
    auto ledger = open();
    token = create(ledger, "proj", "carried over");
    ASSERT_TRUE(ledger.rekey(next.recipient()));
  }
  auto old_only = ClaimLedger::open(options(), std::span(&identity_, 1));
  ASSERT_FALSE(old_only);
  EXPECT_EQ(old_only.error().code, "internal_error");

  std::vector<crypto::X25519Identity> both;
  both.push_back(crypto::X25519Identity::generate());  // an unrelated key first: any match will do
  both.push_back(crypto::X25519Identity::parse(next.encode().view()).value());
  auto o = options();
  o.recipient = next.recipient();
  auto ledger = open_with(o, both);
  auto value = ledger.claim("proj", token);
  ASSERT_TRUE(value);
  EXPECT_EQ(value->bytes.view(), "carried over");
}

// rotate-bootstrap's pending phase: the ledger is encrypted to the old and the new key at once, so a restart
// with either credential opens it, and writes made meanwhile keep both; then the new key alone.
TEST_F(ClaimLedgerTest, RekeyToSeveralRecipientsOpensWithEitherKey) {
  const auto next = crypto::X25519Identity::generate();
  const std::vector<crypto::X25519Recipient> both{identity_.recipient(), next.recipient()};
  std::string first;
  std::string second;
  {
    auto ledger = open();
    first = create(ledger, "proj", "before the rotation");
    ASSERT_TRUE(ledger.rekey(both));
    second = create(ledger, "proj", "during the rotation");  // written to both as well
  }
  for (const crypto::X25519Identity* key : std::array<const crypto::X25519Identity*, 2>{&identity_, &next}) {
    auto reopened = ClaimLedger::open(options(), std::span(key, 1));
    ASSERT_TRUE(reopened);
    EXPECT_EQ(reopened->pending_count(), 2u);
  }
  auto ledger = open_with(options(), std::span(&next, 1));
  EXPECT_EQ(ledger.rekey(std::span<const crypto::X25519Recipient>()).error().code, "protocol_error");
  ASSERT_TRUE(ledger.rekey(next.recipient()));
  EXPECT_FALSE(ClaimLedger::open(options(), std::span(&identity_, 1)));  // the old key opens nothing now
  auto value = ledger.claim("proj", second);
  ASSERT_TRUE(value);
  EXPECT_EQ(value->bytes.view(), "during the rotation");
  EXPECT_TRUE(ledger.claim("proj", first));
}

TEST_F(ClaimLedgerTest, FailedRekeyKeepsTheOldRecipient) {
  const auto next = crypto::X25519Identity::generate();
  auto ledger = open();
  const std::string token = create(ledger, "proj", "v");
  fail_writes();
  EXPECT_EQ(ledger.rekey(next.recipient()).error().code, "internal_error");
  allow_writes();
  ASSERT_TRUE(ledger.claim("proj", token));  // written to the old recipient again
  EXPECT_NO_THROW(decrypted_file());
}

TEST_F(ClaimLedgerTest, CorruptFileIsAnErrorNotAnEmptyLedger) {
  ASSERT_TRUE(write_file_atomically(file(), std::string_view("garbage"), 0600));
  auto ledger = ClaimLedger::open(options(), std::span(&identity_, 1));
  ASSERT_FALSE(ledger);
  EXPECT_EQ(ledger.error().code, "internal_error");

  // Authentic ciphertext of a plaintext that is not a ledger.
  const std::string not_a_ledger = "{\"format\":\"something-else\"}\n";
  auto ct = crypto::encrypt(
      std::span(reinterpret_cast<const std::uint8_t*>(not_a_ledger.data()), not_a_ledger.size()),
      std::span(&identity_.recipient(), 1));
  ASSERT_TRUE(ct);
  ASSERT_TRUE(write_file_atomically(file(), std::span<const std::uint8_t>(*ct), 0600));
  EXPECT_FALSE(ClaimLedger::open(options(), std::span(&identity_, 1)));
}

// A child process claims secrets with several threads and reports each value it received on a pipe; it is
// killed with SIGKILL at an arbitrary moment while claims are being written. Whatever the moment, a secret
// whose value was handed out must be gone after the restart. (Secrets claimed durably but not yet reported
// when the kill came are gone too; that is the crash losing a reply, not a second life.)
TEST_F(ClaimLedgerTest, NoSecondLifeWhenKilledAtAnyInstant) {
  constexpr int kTokens = 120;
  std::mt19937 random(12345);
  for (int round = 0; round < 8; ++round) {
    auto round_options = options();
    round_options.file = state_dir() / ("round-" + std::to_string(round) + ".enc");
    const auto open_round = [&] { return open_with(round_options, std::span(&identity_, 1)); };
    std::vector<std::string> tokens;
    {
      auto ledger = open_round();
      tokens = create_many(ledger, kTokens);
    }
    int report[2];
    ASSERT_EQ(::pipe(report), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::close(report[0]);
      auto ledger = open_round();
      std::vector<std::thread> threads;
      for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
          for (int i = t; i < kTokens; i += 4) {
            auto value = ledger.claim("proj", tokens[i]);
            if (!value) continue;
            const std::string line = std::to_string(i) + " " + std::string(value->bytes.view()) + "\n";
            if (::write(report[1], line.data(), line.size()) < 0) ::_exit(3);
          }
        });
      }
      for (auto& t : threads) t.join();
      ::_exit(0);
    }
    ::close(report[1]);

    // Let some claims through, then kill at a random instant (often in the middle of a write).
    const int kill_after = std::uniform_int_distribution<int>(0, kTokens / 2)(random);
    std::string reported;
    char buffer[256];
    while (std::count(reported.begin(), reported.end(), '\n') < kill_after) {
      const ssize_t n = ::read(report[0], buffer, sizeof buffer);
      if (n <= 0) break;
      reported.append(buffer, static_cast<std::size_t>(n));
    }
    std::this_thread::sleep_for(
        std::chrono::microseconds(std::uniform_int_distribution<int>(0, 5000)(random)));
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    for (ssize_t n; (n = ::read(report[0], buffer, sizeof buffer)) > 0;) {
      reported.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(report[0]);

    std::set<int> handed_out;
    std::istringstream lines(reported);
    int index = 0;
    std::string value;
    while (lines >> index >> value) {
      ASSERT_EQ(value, canary_value(index));
      EXPECT_TRUE(handed_out.insert(index).second) << "handed out twice before the kill: " << index;
    }

    auto ledger = open_round();
    for (int i : handed_out) {
      auto again = ledger.claim("proj", tokens[static_cast<std::size_t>(i)]);
      EXPECT_FALSE(again) << "second life for token " << i << " in round " << round;
    }
    EXPECT_LE(ledger.pending_count() + handed_out.size(), static_cast<std::size_t>(kTokens));
    std::printf("round %d: killed after %zu claims were handed out; %zu still pending\n", round,
                handed_out.size(), ledger.pending_count());
  }
}

}  // namespace
}  // namespace remo::core
