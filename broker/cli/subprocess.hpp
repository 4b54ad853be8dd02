// Running a helper program (ssh, ssh-keygen) with bytes on its stdin and its stdout and stderr captured.
// Input goes through a pipe only: nothing is written to a file, nothing extra is put in argv.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "broker/common/result.hpp"

namespace remo::cli {

struct ProcessResult {
  int status = 0;  // the exit status, or 128 + signal number
  std::string out;
  std::string err;
};

// Error (code "io") only when the program cannot be started at all (it is not installed).
Result<ProcessResult> run_process(const std::vector<std::string>& argv, std::span<const std::uint8_t> input);

}  // namespace remo::cli
