// Where the one-shot secret ops (claim, delete, claim-create, claim-revoke) find the ledger and the threads
// they wait on.
//
// Every change to the ClaimLedger returns only once its group commit is durable, so its caller's thread
// sleeps for an encrypt and an fdatasync (a journal frame). Those calls run on dedicated claim workers
// (the daemon's --claim-workers, default 16), never on the threads that serve connections: a get never
// waits behind a claim's fsync. The ledger's group commit batches whatever changes are waiting when a
// write starts, so the number of workers bounds how many claims one write can carry.
#pragma once

#include <asio/any_io_executor.hpp>

#include "broker/core/claim_ledger.hpp"

namespace remo::server {

struct ClaimPlane {
  core::ClaimLedger* ledger = nullptr;  // null when the ledger could not be opened (status says why)
  asio::any_io_executor executor;       // the claim workers
};

}  // namespace remo::server
