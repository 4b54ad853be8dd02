// The fuzz targets: one function per untrusted-input parser, each in its own file (<name>_target.cpp).
// The same functions serve the libFuzzer binaries (libfuzzer_entry.cpp, built with -DREMO_FUZZ=ON and
// clang) and the replay of every input in tests/data/fuzz-regressions/<name>/ by the ordinary unit tests.
//
// A target returns normally for every input the code under test handles correctly, whether it accepts or
// refuses it; a broken invariant aborts (fuzz_require) and sanitizers report memory and UB errors.
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string_view>

namespace remo::fuzz {

using Input = std::span<const std::uint8_t>;

void request_dispatch(Input input);
void request_parse(Input input);
void age_header(Input input);
void age_decrypt(Input input);
void bundle_toml(Input input);
void manifest(Input input);
void ssh_signature(Input input);

struct FuzzTarget {
  std::string_view name;  // also the corpus and regression directory name
  void (*run)(Input);
};

inline constexpr std::array<FuzzTarget, 7> kFuzzTargets = {{
    {"request_dispatch", &request_dispatch},
    {"request_parse", &request_parse},
    {"age_header", &age_header},
    {"age_decrypt", &age_decrypt},
    {"bundle_toml", &bundle_toml},
    {"manifest", &manifest},
    {"ssh_signature", &ssh_signature},
}};

// A broken invariant is a crash, so that libFuzzer keeps the input and the replay test fails.
inline void fuzz_require(bool holds, std::string_view invariant) {
  if (holds) return;
  std::fprintf(stderr, "fuzz invariant broken: %.*s\n", static_cast<int>(invariant.size()), invariant.data());
  std::abort();
}

inline std::string_view as_text(Input input) {
  return {reinterpret_cast<const char*>(input.data()), input.size()};
}

}  // namespace remo::fuzz
