#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz/ (clang-14, ASan+UBSan) in build-fuzz/ and runs them.
#   dev/fuzz.sh --smoke                 every target for REMO_FUZZ_SMOKE_SECONDS (default 30) from the seed
#                                       corpus; fails on the first crash, leak, timeout or broken invariant
#   dev/fuzz.sh [--time S] [--jobs N] [TARGET...]
#                                       a campaign: each TARGET (default all) for S seconds (default 600)
#                                       with N parallel jobs (libFuzzer -fork; default 1); the corpus it
#                                       grows is kept in build-fuzz/corpus/TARGET/ (outside git) and reused
#   dev/fuzz.sh --list                  the target names
# Crash inputs land in build-fuzz/artifacts/TARGET/. Each one becomes a regression: fix the bug, then copy
# the input to tests/data/fuzz-regressions/TARGET/ (replayed by the unit tests, fuzz_regressions_test.cpp).
set -euo pipefail
cd "$(dirname "$0")/.."
"$PWD/dev/deps.sh"

all_targets=(request_dispatch request_parse age_header age_decrypt bundle_toml manifest ssh_signature)
mode=campaign
seconds=600
jobs=1
targets=()
while (($#)); do
  case $1 in
    --smoke) mode=smoke ;;
    --time) seconds=$2; shift ;;
    --jobs) jobs=$2; shift ;;
    --list) printf '%s\n' "${all_targets[@]}"; exit 0 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1") ;;
  esac
  shift
done
((${#targets[@]})) || targets=("${all_targets[@]}")
if [[ $mode == smoke ]]; then
  seconds=${REMO_FUZZ_SMOKE_SECONDS:-30}
  jobs=1
fi

dictionary_of() {
  case $1 in
    request_dispatch|request_parse) echo tests/fuzz/dict/request_dispatch.dict ;;
    age_header|age_decrypt) echo tests/fuzz/dict/age.dict ;;
    bundle_toml|manifest) echo tests/fuzz/dict/toml.dict ;;
    ssh_signature) echo tests/fuzz/dict/ssh_signature.dict ;;
    *) echo "fuzz.sh: unknown target $1 (see --list)" >&2; return 1 ;;
  esac
}
for target in "${targets[@]}"; do dictionary_of "$target" >/dev/null; done

build_dir=build-fuzz
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-14 \
  -DREMO_FUZZ=ON -DREMO_BUILD_TESTS=OFF -DREMO_BUILD_BENCHMARKS=OFF "${launcher[@]}" >/dev/null
cmake --build "$build_dir" -j "$(nproc)" --target fuzz_targets

# Temporary files on a tmpfs, where fsync costs nothing (the request target puts its sandbox there too).
[[ -d /dev/shm && -w /dev/shm ]] && export TMPDIR=/dev/shm
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# How many inputs a run executed: single-process runs end with stat:: lines, -fork runs print "#N: cov: ...".
runs_in() {
  local runs
  runs=$(grep -oE '^stat::number_of_executed_units: [0-9]+' "$1" | grep -oE '[0-9]+$' | tail -n 1)
  [[ -n $runs ]] || runs=$(grep -oE '^#[0-9]+: cov' "$1" | tail -n 1 | grep -oE '[0-9]+')
  echo "${runs:-0}"
}

failed=()
table=()
for target in "${targets[@]}"; do
  artifacts=$build_dir/artifacts/$target
  mkdir -p "$artifacts"
  if [[ $mode == smoke ]]; then
    corpus=$(mktemp -d)  # what the smoke run finds is thrown away
  else
    corpus=$build_dir/corpus/$target
    mkdir -p "$corpus"
  fi
  args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1
        -dict="$(dictionary_of "$target")" -artifact_prefix="$artifacts/")
  ((jobs > 1)) && args+=(-fork="$jobs" -ignore_crashes=0)
  echo "== fuzz_$target: ${seconds}s, $jobs job(s), corpus $corpus + tests/fuzz/corpus/$target"
  log=$build_dir/fuzz_$target.log
  started=$(date +%s.%N)
  status=ok
  if "$build_dir/tests/fuzz/fuzz_$target" "${args[@]}" "$corpus" "tests/fuzz/corpus/$target" >"$log" 2>&1; then
    # Single-process runs end with stat:: lines; -fork runs with a "#N: cov: ..." progress line.
    { grep -E '^stat::(number_of_executed_units|new_units_added)' "$log" || grep -E '^#[0-9]+: cov' "$log" | tail -n 1 || true; } | tr -s ' \n' ' '
    echo
  else
    status=FAILED
    failed+=("$target")
    tail -n 60 "$log"
    echo "fuzz_$target FAILED: see $log; inputs in $artifacts/" >&2
  fi
  [[ $mode == smoke ]] && rm -rf "$corpus"
  table+=("$(awk -v t="$target" -v r="$(runs_in "$log")" -v a="$started" -v b="$(date +%s.%N)" -v s="$status" \
    'BEGIN { d = b - a; printf "%-18s %12d %9.1f %10.0f  %s", t, r, d, (d > 0 ? r / d : 0), s }')")
done

# Executions per second show a target too slow to explore much in its time.
printf '\n%-18s %12s %9s %10s  %s\n' target runs seconds execs/s status
printf '%s\n' "${table[@]}"

if ((${#failed[@]})); then
  echo "fuzz: ${#failed[@]} target(s) failed: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} target(s) ran ${seconds}s each without a crash"
