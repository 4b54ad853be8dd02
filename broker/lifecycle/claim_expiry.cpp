#include "broker/lifecycle/claim_expiry.hpp"

#include <spdlog/spdlog.h>

#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "broker/transport/audit_events.hpp"

namespace remo::server {

ClaimExpiry::ClaimExpiry(core::ClaimLedger& ledger, core::AuditLog& audit, std::chrono::milliseconds period)
    : ledger_(ledger), audit_(audit), period_(period) {}

ClaimExpiry::~ClaimExpiry() { stop(); }

void ClaimExpiry::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void ClaimExpiry::stop() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::size_t ClaimExpiry::expire_now() {
  const auto started = audit::Clock::now();
  auto expired = ledger_.expire(std::chrono::system_clock::now());
  if (!expired) {
    spdlog::error("one-shot secrets: expiry postponed: {}", expired.error().message);
    return 0;
  }
  for (const core::ClaimInfo& info : *expired) {
    nlohmann::json event{{"event", audit::kClaimExpired}, {"claim_id", info.id}, {"project", info.project}};
    std::vector<nlohmann::json> events;
    audit::add(events, std::move(event), audit::kAllow, audit::kOk, started);
    audit_.record(std::move(events.front()));
  }
  if (!expired->empty()) spdlog::info("one-shot secrets: {} expired unclaimed", expired->size());
  return expired->size();
}

void ClaimExpiry::run() {
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, period_, [this] { return stopping_; })) {
    lock.unlock();
    try {
      expire_now();
      // The journal's frames still hold the (encrypted) values of secrets claimed since the last
      // snapshot: fold them away within a period.
      if (auto compacted = ledger_.compact(); !compacted) {
        spdlog::error("one-shot secrets: compaction postponed: {}", compacted.error().message);
      }
    } catch (const std::exception& error) {  // bad_alloc: try again at the next tick
      spdlog::error("one-shot secrets: expiry failed: {}", error.what());
    }
    lock.lock();
  }
}

}  // namespace remo::server
