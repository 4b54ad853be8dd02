// The libFuzzer entry point of one fuzz binary; REMO_FUZZ_TARGET names its target function (see
// fuzz_targets.hpp), compiled into the same binary.
#include <sodium.h>
#include <spdlog/spdlog.h>

#include "tests/fuzz/fuzz_targets.hpp"

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  if (sodium_init() < 0) std::abort();
  spdlog::set_level(spdlog::level::off);  // the code under test logs refusals; a campaign need not print them
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  REMO_FUZZ_TARGET(remo::fuzz::Input(data, size));
  return 0;
}
