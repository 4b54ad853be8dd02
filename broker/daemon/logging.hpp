// The daemon's own log: spdlog to stderr, one line per event, never a secret value. When stderr is the
// journal (JOURNAL_STREAM names it, as systemd sets it up), each line starts with a "<N>" syslog priority
// and carries no timestamp of its own (the journal adds one); otherwise lines are plain and timestamped.
#pragma once

#include <string_view>

namespace remo::daemon {

void setup_logging(std::string_view level);

// Whether JOURNAL_STREAM ("device:inode") names the file stderr is connected to (systemd.exec(5)).
bool stderr_is_journal();

}  // namespace remo::daemon
