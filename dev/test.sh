#!/usr/bin/env bash
# Builds remo-broker and runs the whole test suite under CTest.
#   dev/test.sh                 Release build in build/
#   dev/test.sh --sanitize      ASan+UBSan build in build-asan/
#   dev/test.sh --tsan          ThreadSanitizer build in build-tsan/: the core and server unit tests (the
#                               daemon's concurrency: store swaps, claim ledger, sessions, io pool)
#   REMO_TEST_FILTER=regex      run only the matching tests
set -euo pipefail
cd "$(dirname "$0")/.."
"$PWD/dev/deps.sh"

build_dir=build
cmake_args=(-DCMAKE_BUILD_TYPE=Release)
build_targets=()
if [[ ${1:-} == --sanitize ]]; then
  build_dir=build-asan
  cmake_args=(-DCMAKE_BUILD_TYPE=Debug -DREMO_SANITIZE=ON -DREMO_BUILD_BENCHMARKS=OFF)
elif [[ ${1:-} == --tsan ]]; then
  build_dir=build-tsan
  cmake_args=(-DCMAKE_BUILD_TYPE=Debug -DREMO_TSAN=ON -DREMO_BUILD_BENCHMARKS=OFF)
  build_targets=(--target core_unit_tests protocol_unit_tests transport_unit_tests lifecycle_unit_tests ops_unit_tests daemon_unit_tests)
  REMO_TEST_FILTER=${REMO_TEST_FILTER:-'^unit\.(core|protocol|transport|lifecycle|ops|daemon)\.'}
fi
jobs=$(nproc)
test_jobs=$jobs
# TSan slows everything 5-15x; the listener tests' timeouts then need the cores to themselves.
[[ $build_dir == build-tsan ]] && test_jobs=1
cmake -S . -B "$build_dir" -G Ninja "${cmake_args[@]}" >/dev/null
cmake --build "$build_dir" -j "$jobs" "${build_targets[@]}"
ctest_args=(--test-dir "$build_dir" --output-on-failure -j "$test_jobs" --timeout 600)
[[ -n ${REMO_TEST_FILTER:-} ]] && ctest_args+=(-R "$REMO_TEST_FILTER")
ctest "${ctest_args[@]}"
