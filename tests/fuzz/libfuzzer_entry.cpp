// The libFuzzer entry point of one fuzz binary; REMO_FUZZ_TARGET names its target in kFuzzTargets.
#include <sodium.h>
#include <spdlog/spdlog.h>

#include "tests/fuzz/fuzz_targets.hpp"

namespace {

void (*find_target())(remo::fuzz::Input) {
  for (const auto& target : remo::fuzz::kFuzzTargets) {
    if (target.name == REMO_FUZZ_TARGET) return target.run;
  }
  std::fprintf(stderr, "no fuzz target named %s\n", REMO_FUZZ_TARGET);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  if (sodium_init() < 0) std::abort();
  spdlog::set_level(spdlog::level::off);  // the code under test logs refusals; a campaign need not print them
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto run = find_target();
  run(remo::fuzz::Input(data, size));
  return 0;
}
