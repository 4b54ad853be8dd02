#!/usr/bin/env bash
# Decrypt throughput: `remo-brokerctl decrypt` against the reference `age -d`, measured in the same run.
#
#   dev/bench_decrypt.sh [BUILD_DIR]        (or BUILD_DIR=... ; default ./build)
#   env: BENCH_SIZE_MIB (default 64), BENCH_ROUNDS (default 5)
#
# A random file is encrypted once with `age`; then both tools decrypt it alternately (interleaved, so
# both see the same machine state), writing to /dev/null. Prints the median seconds and MiB/s of each
# and the ratio ours/age (speed; >= 1.0 means we are at least as fast).
set -euo pipefail

build_dir=${1:-${BUILD_DIR:-./build}}
ctl=$build_dir/broker/remo-brokerctl
size_mib=${BENCH_SIZE_MIB:-64}
rounds=${BENCH_ROUNDS:-5}

[[ -x $ctl ]] || { echo "bench_decrypt: $ctl not found (build remo-brokerctl first)" >&2; exit 1; }
command -v age >/dev/null && command -v age-keygen >/dev/null || {
  echo "bench_decrypt: age and age-keygen are required (apt-get install age)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

age-keygen -o "$work/key" 2>/dev/null
head -c "$((size_mib * 1024 * 1024))" /dev/urandom >"$work/plain"
age -R <(age-keygen -y "$work/key") -o "$work/cipher" "$work/plain"

# Sanity: both produce the same plaintext before anything is timed.
"$ctl" decrypt -i "$work/key" "$work/cipher" | cmp -s - "$work/plain" || { echo "bench_decrypt: ours is wrong" >&2; exit 1; }
age -d -i "$work/key" "$work/cipher" | cmp -s - "$work/plain" || { echo "bench_decrypt: age is wrong" >&2; exit 1; }

# "wall cpu" seconds for one run of the given command, output discarded (cpu = user + sys).
time_one() {
  local TIMEFORMAT='%R %U %S' t
  t=$( { time "$@" >/dev/null; } 2>&1 )
  awk '{ printf "%.4f %.4f\n", $1, $2 + $3 }' <<<"$t"
}

ours_wall=() ours_cpu=() age_wall=() age_cpu=()
for ((i = 0; i < rounds; i++)); do
  read -r w c < <(time_one age -d -i "$work/key" "$work/cipher"); age_wall+=("$w"); age_cpu+=("$c")
  read -r w c < <(time_one "$ctl" decrypt -i "$work/key" "$work/cipher"); ours_wall+=("$w"); ours_cpu+=("$c")
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

# Wall time is the headline; CPU time is printed too because on a shared machine it is the steadier
# of the two.
awk -v mib="$size_mib" -v rounds="$rounds" \
    -v ow="$(median "${ours_wall[@]}")" -v oc="$(median "${ours_cpu[@]}")" \
    -v aw="$(median "${age_wall[@]}")" -v ac="$(median "${age_cpu[@]}")" 'BEGIN {
  printf "decrypt %d MiB, median of %d interleaved rounds (wall; cpu = user+sys)\n", mib, rounds
  printf "  age -d                  wall %7.3f s %8.1f MiB/s   cpu %7.3f s %8.1f MiB/s\n", aw, mib / aw, ac, mib / ac
  printf "  remo-brokerctl decrypt  wall %7.3f s %8.1f MiB/s   cpu %7.3f s %8.1f MiB/s\n", ow, mib / ow, oc, mib / oc
  printf "  ratio ours/age (speed)  wall %7.2f                    cpu %7.2f\n", aw / ow, ac / oc
}'
