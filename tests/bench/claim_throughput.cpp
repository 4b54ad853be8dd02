// Durable one-shot claims per second with 1, 4 and 16 concurrent claimers (ClaimLedger group commit).
//
// Every claim counted here returned its value only after the change was on disk (an encrypted journal
// frame, appended and fdatasynced; see claim_journal.hpp). The reference, measured on the same directory just
// before each row (so that both see the same disk and the same machine load), is what one durable write per
// claim would give: the rate of encrypt + write_file_atomically of a ledger of the same size. ratio =
// claims/s ÷ that rate, roughly the number of claims a write carries.
//
//   claim_throughput [--dir DIR] [--secrets N] [--value-bytes B] [--claimers 1,4,16] [--target 5000]
//
// DIR must be on the disk the broker uses (the default is under /var/tmp, not a tmpfs). Exits 1 if the
// highest claimer count misses --target claims/s (0 disables the check).
#include <stdlib.h>

#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "broker/core/claim_ledger.hpp"
#include "broker/core/state_file.hpp"
#include "broker/crypto/age.hpp"

namespace {

namespace fs = std::filesystem;
using remo::core::ClaimLedger;
using Clock = std::chrono::steady_clock;

struct Config {
  fs::path dir;
  int secrets = 2000;
  std::size_t value_bytes = 64;
  std::vector<int> claimers{1, 4, 16};
  double target = 5000;
  bool own_dir = false;  // made by us: removed at the end
};

Config parse_args(int argc, char** argv) {
  Config config;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--dir") {
      config.dir = next();
    } else if (arg == "--secrets") {
      config.secrets = std::stoi(next());
    } else if (arg == "--value-bytes") {
      config.value_bytes = static_cast<std::size_t>(std::stoul(next()));
    } else if (arg == "--target") {
      config.target = std::stod(next());
    } else if (arg == "--claimers") {
      config.claimers.clear();
      std::stringstream list(next());
      for (std::string item; std::getline(list, item, ',');) config.claimers.push_back(std::stoi(item));
    } else {
      throw std::runtime_error("unknown argument " + arg);
    }
  }
  if (config.dir.empty()) {
    std::string pattern = "/var/tmp/claim-throughput-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    config.dir = pattern;
    config.own_dir = true;
  }
  return config;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Runs body(thread_index) on n threads released together; returns the wall time in seconds.
template <class Body>
double run_threads(int n, Body body) {
  std::barrier start(n + 1);
  std::vector<std::thread> threads;
  for (int t = 0; t < n; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      body(t);
    });
  }
  start.arrive_and_wait();
  const auto began = Clock::now();
  for (auto& thread : threads) thread.join();
  return seconds_since(began);
}

std::vector<std::string> fill(ClaimLedger& ledger, const Config& config) {
  std::vector<std::string> tokens(static_cast<std::size_t>(config.secrets));
  std::atomic<int> next{0};
  run_threads(32, [&](int) {
    for (int i; (i = next.fetch_add(1)) < config.secrets;) {
      std::string value(config.value_bytes, 'v');
      auto ticket = ledger.create("bench", remo::crypto::SecureBuffer::copy_of(value), false, 3600);
      if (!ticket) throw std::runtime_error("create failed: " + ticket.error().message);
      tokens[static_cast<std::size_t>(i)] = std::string(ticket->token.view());
    }
  });
  return tokens;
}

double claims_per_second(const Config& config, const remo::crypto::X25519Identity& identity, int claimers) {
  const fs::path file = config.dir / ("claims-" + std::to_string(claimers) + ".enc");
  fs::remove(file);
  ClaimLedger::Options options;
  options.file = file;
  options.recipient = identity.recipient();
  auto ledger = ClaimLedger::open(options, std::span(&identity, 1)).value();
  const auto tokens = fill(ledger, config);

  std::atomic<int> next{0};
  std::atomic<int> failures{0};
  const double elapsed = run_threads(claimers, [&](int) {
    for (int i; (i = next.fetch_add(1)) < config.secrets;) {
      if (!ledger.claim("bench", tokens[static_cast<std::size_t>(i)])) failures.fetch_add(1);
    }
  });
  fs::remove(file);
  if (failures.load() != 0) throw std::runtime_error(std::to_string(failures.load()) + " claims failed");
  return config.secrets / elapsed;
}

// One durable write per claim: encrypt + write_file_atomically of a ledger-sized plaintext.
double durable_writes_per_second(const Config& config, const remo::crypto::X25519Identity& identity) {
  // The ledger holds on average half the secrets while they are being claimed; ~230 bytes of
  // bookkeeping per entry plus the value.
  const std::size_t size = static_cast<std::size_t>(config.secrets) / 2 * (230 + config.value_bytes);
  remo::crypto::SecureBuffer plaintext(size);
  const fs::path file = config.dir / "reference.enc";
  constexpr int kWrites = 50;
  const auto began = Clock::now();
  for (int i = 0; i < kWrites; ++i) {
    auto sealed = remo::crypto::encrypt(plaintext.span(), std::span(&identity.recipient(), 1));
    if (!sealed || !remo::core::write_file_atomically(file, std::span<const std::uint8_t>(*sealed), 0600)) {
      throw std::runtime_error("reference write failed");
    }
  }
  const double rate = kWrites / seconds_since(began);
  fs::remove(file);
  return rate;
}

}  // namespace

int main(int argc, char** argv) try {
  const Config config = parse_args(argc, argv);
  const auto identity = remo::crypto::X25519Identity::generate();
  std::printf("claim_throughput: %d secrets of %zu bytes per run, dir %s\n", config.secrets,
              config.value_bytes, config.dir.c_str());
  double last = 0;
  for (int claimers : config.claimers) {
    const double reference = durable_writes_per_second(config, identity);
    last = claims_per_second(config, identity, claimers);
    std::printf(
        "%3d claimer%s %8.0f durable claims/s   reference (one write per claim) %6.0f/s   ratio %6.2f\n",
        claimers, claimers == 1 ? " " : "s", last, reference, last / reference);
  }
  if (config.own_dir) fs::remove_all(config.dir);
  if (config.target > 0 && last < config.target) {
    std::printf("below target: %.0f < %.0f claims/s\n", last, config.target);
    return 1;
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "claim_throughput: %s\n", e.what());
  return 2;
}
