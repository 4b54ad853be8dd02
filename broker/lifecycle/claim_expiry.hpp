// ClaimExpiry: wipes one-shot secrets whose ttl ran out, once a period (1 s in the daemon), and audits
// each as claim.expired {claim_id, project}, so an operator can act on workers that never came up.
//
// An expired secret is unclaimable the instant its ttl runs out (the ledger checks the time on every
// claim); this timer is what removes its value from memory and from claims.enc. expire() waits for an
// fsync, so it runs on its own thread, never on a thread that serves connections. When the write fails
// nothing changed: the next tick tries again. Each tick also compacts the ledger (ClaimLedger::compact):
// the journal's frames of secrets claimed since the last snapshot are folded away within a period.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "broker/core/audit_log.hpp"
#include "broker/core/claim_ledger.hpp"

namespace remo::server {

class ClaimExpiry {
 public:
  // ledger and audit must outlive the timer (stop() or destruction).
  ClaimExpiry(core::ClaimLedger& ledger, core::AuditLog& audit, std::chrono::milliseconds period);
  ~ClaimExpiry();
  ClaimExpiry(const ClaimExpiry&) = delete;
  ClaimExpiry& operator=(const ClaimExpiry&) = delete;

  void start();
  // Stops the timer and waits for a tick in progress to finish. Idempotent.
  void stop();

  // One tick: expire and audit. Returns how many secrets expired (for tests).
  std::size_t expire_now();

 private:
  void run();

  core::ClaimLedger& ledger_;
  core::AuditLog& audit_;
  std::chrono::milliseconds period_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // under mutex_
  std::thread thread_;
};

}  // namespace remo::server
