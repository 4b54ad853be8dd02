// How a connection takes part in the line buffer budget (see buffer_budget.hpp).
#pragma once

#include <memory>

#include "broker/transport/buffer_budget.hpp"
#include "broker/transport/session.hpp"

namespace remo::server {

// The share of `connection`, one of the connections on `socket`, in `budget` (none when budget is null).
// Chosen to make room, the connection is closed on its strand; when it is waiting for its next request
// (no reply can be cut in two), it is first sent a rate_limited reply saying why.
BufferBudget::Share join_line_budget(BufferBudget* budget, const std::shared_ptr<Connection>& connection,
                                     const void* socket);

}  // namespace remo::server
