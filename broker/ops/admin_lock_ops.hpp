// The kill switch on the admin socket: lock, unlock, and the fields status shows about it.
#pragma once

#include "broker/lifecycle/broker_state.hpp"
#include "protocol/request.hpp"

namespace remo::server {

// {"locked","locked_at","lock_reason","lock_error"} for status.
Json lock_status(const BrokerState& broker);

}  // namespace remo::server
