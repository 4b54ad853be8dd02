#!/usr/bin/env bash
# Builds remo-broker and runs the whole test suite under CTest.
#   dev/test.sh                 Release build in build/
#   dev/test.sh --sanitize      ASan+UBSan build in build-asan/
#   REMO_TEST_FILTER=regex      run only the matching tests
set -euo pipefail
cd "$(dirname "$0")/.."
"$PWD/dev/deps.sh"

build_dir=build
cmake_args=(-DCMAKE_BUILD_TYPE=Release)
if [[ ${1:-} == --sanitize ]]; then
  build_dir=build-asan
  cmake_args=(-DCMAKE_BUILD_TYPE=Debug -DREMO_SANITIZE=ON -DREMO_BUILD_BENCHMARKS=OFF)
fi
jobs=$(nproc)
cmake -S . -B "$build_dir" -G Ninja "${cmake_args[@]}" >/dev/null
cmake --build "$build_dir" -j "$jobs"
ctest_args=(--test-dir "$build_dir" --output-on-failure -j "$jobs" --timeout 600)
[[ -n ${REMO_TEST_FILTER:-} ]] && ctest_args+=(-R "$REMO_TEST_FILTER")
ctest "${ctest_args[@]}"
