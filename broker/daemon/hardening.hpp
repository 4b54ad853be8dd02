// Process hardening, first thing at start-up: the broker holds decrypted secrets in memory, so it writes no
// core file, is not dumpable (no ptrace attach or /proc/<pid>/mem for the same uid), creates files private
// to itself, survives clients that hang up mid-reply (SIGPIPE ignored), and can hold thousands of idle
// connections (the open-files soft limit raised to the hard limit).
#pragma once

#include <string>
#include <vector>

namespace remo::daemon {

struct HardeningReport {
  unsigned long long open_files_limit = 0;
  std::vector<std::string> warnings;  // what could not be done; logged once logging is set up
};

HardeningReport harden_process();

}  // namespace remo::daemon
