#!/usr/bin/env bash
# Long-form load test (issue 7): 1,000 mixed connections, 10,000 hostile ones beside a measured client,
# then a soak that watches RSS. Extra arguments go to tests/load/load.py (e.g. --soak 3600 --strict).
#   dev/load.sh [BUILD_DIR] [load.py args...]
set -euo pipefail
cd "$(dirname "$0")/.."
build=build
if [[ $# -gt 0 && $1 != --* ]]; then build=$1; shift; fi
[[ -x $build/broker/remo-broker && -x $build/dev/bench/ndjson_load ]] || {
  echo "load: build remo-broker and the benchmarks first (dev/test.sh builds both into build/)" >&2; exit 1; }
exec python3 tests/load/load.py --build "$build" --connections 1000 --hostile 10000 --seconds 20 --soak 120 "$@"
