#!/usr/bin/env bash
# Durable one-shot claims per second over the real project socket, side by side with what the disk allows.
#   dev/bench_claims.sh [BUILD_DIR]        (default: build; benchmarks are switched on in it)
# Knobs (environment): BENCH_CLAIMS=3000 secrets claimed per row (at most 200 per claimer: a lone claimer
# waits a whole durable write per claim), BENCH_CLAIMERS="1 16 64 256",
# BENCH_DIR=/var/tmp (where the sandbox lives: must be the disk the broker would use, not a tmpfs),
# BENCH_JOBS=1 build parallelism.
#
# Rows, each measured in this run on the same disk:
#   socket      remo-broker in a sandbox; dev/bench/claim_load creates BENCH_CLAIMS secrets through the admin
#               socket, then claims each once over the project socket with C concurrent connections (closed
#               loop). Every ok reply was sent only after the change was durable (a journal frame:
#               encrypt, append, fdatasync): group commit lets one write carry many.
#   in-process  tests/bench/claim_throughput: the same ClaimLedger called by C threads, no sockets.
#   fsync floor dev/bench/fsync_floor: one atomic durable file replacement of a ledger-sized file; 1000 /
#               p50_ms is what one durable write per claim would allow.
# It is a report: it exits 0 whether or not the target (5,000 claims/s with concurrent claimers) is met.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build_dir=${1:-build}
[[ $build_dir = /* ]] || build_dir=$root/$build_dir
claims=${BENCH_CLAIMS:-3000}
read -r -a claimers <<<"${BENCH_CLAIMERS:-1 16 64 256}"
bench_dir=${BENCH_DIR:-/var/tmp}
jobs=${BENCH_JOBS:-1}
say() { printf '%s\n' "$*" >&2; }

if [[ ! -f $build_dir/CMakeCache.txt ]]; then
  cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DREMO_BUILD_BENCHMARKS=ON >/dev/null
elif ! grep -q '^REMO_BUILD_BENCHMARKS:BOOL=ON' "$build_dir/CMakeCache.txt"; then
  cmake -S "$root" -B "$build_dir" -DREMO_BUILD_BENCHMARKS=ON >/dev/null
fi
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build_dir/CMakeCache.txt")
[[ $build_type == Release ]] || say "warning: $build_dir is a '$build_type' build; figures are for Release"
cmake --build "$build_dir" -j "$jobs" --target remo-broker claim_load fsync_floor claim_throughput >/dev/null
broker=$build_dir/broker/remo-broker
load=$build_dir/dev/bench/claim_load
fsync_floor=$build_dir/dev/bench/fsync_floor
in_process=$build_dir/tests/claim_throughput

work=$(mktemp -d "$bench_dir/remo-claims-bench.XXXXXX")
sandbox=$work/sb
daemon_pid=
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
  if [[ -n $daemon_pid ]] && kill -0 "$daemon_pid" 2>/dev/null; then
    kill -TERM "$daemon_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$sandbox/credentials" "$work/projects/bench/.devcontainer"
chmod 700 "$sandbox" "$sandbox/credentials"
age-keygen -o "$sandbox/credentials/bootstrap-key" 2>/dev/null
chmod 600 "$sandbox/credentials/bootstrap-key"
printf 'schema_version = 1\n[project]\nname = "bench"\n[allowlist]\nsecrets = []\n' \
  >"$work/projects/bench/.devcontainer/remo-broker.toml"
admin_sock=$sandbox/run/admin.sock
project_sock=$sandbox/run/bench.sock

"$broker" --requests-per-second 0 --sandbox "$sandbox" >>"$work/broker.log" 2>&1 &
daemon_pid=$!
for ((i = 0; i < 500; i++)); do [[ -S $admin_sock ]] && break; sleep 0.02; done
python3 - "$admin_sock" "$work/projects/bench" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall((json.dumps({"op": "register", "name": "bench", "project_path": sys.argv[2]}) + "\n").encode())
reply = json.loads(s.makefile().readline())
if not reply.get("ok"):
    sys.exit(f"register failed: {reply}")
EOF

json_num() { sed -n "s/.*\"$1\":\([-0-9.e+]*\).*/\1/p" <<<"$2"; }

printf '%-12s %9s %14s %10s %10s %s\n' "path" "claimers" "claims/s" "p50_us" "p99_us" "note"
for c in "${claimers[@]}"; do
  n=$((c * 200 < claims ? c * 200 : claims))
  created=$("$load" --socket "$admin_sock" --create "$n" --project bench --connections 64 \
    --tokens-out "$work/tokens")
  size=$(stat -c %s "$sandbox/state/claims.enc")
  out=$("$load" --socket "$project_sock" --claim "$work/tokens" --connections "$c")
  printf '%-12s %9s %14s %10s %10s %s\n' socket "$c" "$(json_num rps "$out")" "$(json_num p50_us "$out")" \
    "$(json_num p99_us "$out")" "ok $(json_num ok "$out")/$n; created at $(json_num rps "$created")/s; ledger ${size} B full"
  rm -f "$work/tokens"
done

# The floor: one durable replacement of a ledger holding half the secrets (the average while they drain).
half_size=$(( $(stat -c %s "$sandbox/state/claims.enc") ))
floor=$("$fsync_floor" "$sandbox/state" --bytes "$((claims * 300 / 2))" --runs 30)
p50_ms=$(json_num p50_ms "$floor")
printf '%-12s %9s %14s %10s %10s %s\n' "fsync floor" 1 "$(awk "BEGIN {printf \"%.0f\", 1000 / $p50_ms}")" \
  "$(awk "BEGIN {printf \"%.0f\", $p50_ms * 1000}")" "-" "one durable write per claim ($((claims * 300 / 2)) B file; tombstone-only ledger now ${half_size} B)"

list=$(IFS=,; echo "${claimers[*]}")
"$in_process" --dir "$work" --secrets "$claims" --claimers "$list" --target 0 2>&1 | sed -n 's/^ *\([0-9]*\) claimers* *\([0-9]*\) durable claims\/s.*ratio *\([0-9.]*\)/\1 \2 \3/p' |
  while read -r c rate ratio; do
    printf '%-12s %9s %14s %10s %10s %s\n' in-process "$c" "$rate" "-" "-" "ClaimLedger alone; ratio to one write per claim ${ratio}"
  done
say "target: 5000 durable claims/s with concurrent claimers over the socket"
