// Where the one-shot secret ops (claim, delete, claim-create, claim-revoke) find the ledger and the threads
// they wait on.
//
// Every change to the ClaimLedger returns only once its group commit is durable, so its caller's thread
// sleeps for an encrypt, two fsyncs and a rename. Those calls run on dedicated claim workers, never on the
// threads that serve connections: a get never waits behind a claim's fsync. The ledger's group commit
// batches whatever changes are waiting when a write starts, so the number of workers bounds how many
// claims one write can carry. A durable write of the ledger takes 5-40 ms on a busy disk (two fsyncs), so
// reaching thousands of claims/s needs hundreds of claims per write: kClaimWorkerThreads allows that and
// costs only sleeping threads (dev/bench_claims.sh measured 64 workers at ~1,500/s and 256 at ~2,100/s on
// a disk whose single durable replacement takes ~15 ms).
#pragma once

#include <asio/any_io_executor.hpp>

#include "broker/core/claim_ledger.hpp"

namespace remo::server {

inline constexpr unsigned kClaimWorkerThreads = 256;

struct ClaimPlane {
  core::ClaimLedger* ledger = nullptr;  // null when the ledger could not be opened (status says why)
  asio::any_io_executor executor;       // the claim workers
};

}  // namespace remo::server
