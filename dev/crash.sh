#!/usr/bin/env bash
# Long-form crash test (issue 7): SIGKILL the daemon at random instants for many rounds.
#   dev/crash.sh [BUILD_DIR] [--rounds N] [--seed N]
set -euo pipefail
cd "$(dirname "$0")/.."
build=build
if [[ $# -gt 0 && $1 != --* ]]; then build=$1; shift; fi
[[ -x $build/broker/remo-broker ]] || { echo "crash: build remo-broker first (dev/test.sh)" >&2; exit 1; }
exec python3 tests/crash/crash.py --build "$build" --rounds 500 "$@"
