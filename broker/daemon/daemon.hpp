// The broker daemon's life: start-up (key, directories, saved state, sockets, READY=1), serving until
// SIGTERM or SIGINT, and shutdown (stop accepting, let in-flight requests finish for up to 5 s, wipe the
// secrets, remove the socket files).
#pragma once

#include "broker/daemon/config.hpp"

namespace remo::daemon {

// Returns the process exit code: 0 after a clean shutdown, 1 when start-up fails (one line on stderr).
int run_daemon(const DaemonConfig& config);

}  // namespace remo::daemon
