#!/usr/bin/env bash
# The benchmark suite (issue 7): one command, one table of ratios, every figure measured side by side with
# its reference in the same run.
#
#   dev/bench.sh [--full] [--build-dir DIR] [--no-install] [--jobs N]
#
#   quick (default)  a few minutes: 5 interleaved rounds, 3 decrypts of 64 MiB, 400 claims
#   --full           longer and steadier: 11 rounds, 4x the requests, 7 decrypts, 2,000 claims
#   --build-dir DIR  default build/ (configured as Release, with ccache when present, if it does not exist)
#   --no-install     do not apt-get the packages the references need (redis-server, redis-tools, age)
#   --jobs N         build parallelism (default 2)
#
# Rows and their references
#   get (1 and 16 connections) ....... dev/bench/epoll_line_server (one thread, level-triggered epoll, a fixed
#                                      reply the size of a get reply) and redis-server on a Unix socket
#                                      answering GET of a value the size of the secret. The same client drives
#                                      all three: dev/bench/ndjson_load, one blocking thread per connection,
#                                      NDJSON for ours and the epoll server, RESP2 (--resp) for Redis.
#                                      The daemon writes an audit line per get, as always.
#   decrypt 64 MiB ................... `age -d` (dev/bench_decrypt.sh), wall time, as MiB/s.
#   push-creds ....................... the fsync floor of the same directory: one durable atomic replace of a
#                                      file the bundle's size (dev/bench/fsync_floor), on the disk and on tmpfs.
#   claims ........................... in-process ClaimLedger (tests/bench/claim_throughput) against one
#                                      durable write per claim; over the project socket (dev/bench/claim_load),
#                                      every claim answered only once durable.
#   start to READY ................... exec to sd_notify READY=1 (dev/bench/notify_ready_timer), 100-secret
#                                      bundle and one registered project, against the epoll server and Redis
#                                      (--supervised systemd); wall time, and the CPU time the process had
#                                      used by then (steadier than wall time on a loaded machine).
#   neighbour get p99 under a flood .. the same 1-connection get run alone and beside dev/bench/line_flood:
#                                      another project (limits 100/s, burst 200) sending every kind of line
#                                      (get allowed and not, ping, info, malformed, unknown op, over-long)
#                                      at full speed on 4 connections. Target: at most 2x alone.
#   idle RSS, threads, binary size ... against the epoll server (and Redis, age for remo-brokerctl). "After load"
#                                      is after the get rounds and the pushes; then, apart, after the claims
#                                      over the socket, when the ledger holds their pending secrets and tombstones
#                                      (state that grows with use, like the 100 idle connections row).
# Rounds interleave ours and the references, rotating which goes first; each figure is the median. Nothing
# is pinned and the daemon runs with its defaults. Ratios are ours / reference: below 1 is better for
# times and sizes, above 1 is better for rates. Targets are issue 3's (and claim_throughput's 5,000/s).
# It is a report: exit 0 whether or not targets are met, non-zero only when it cannot run at all.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

full=0
build_dir=build
install=1
jobs=2
while (($#)); do
  case $1 in
    --full) full=1 ;;
    --build-dir) build_dir=${2:?--build-dir needs a directory}; shift ;;
    --no-install) install=0 ;;
    --jobs) jobs=${2:?--jobs needs a number}; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench: unknown argument $1 (see --help)" >&2; exit 64 ;;
  esac
  shift
done
[[ $build_dir = /* ]] || build_dir=$root/$build_dir

if ((full)); then
  rounds=11 lat_reqs=20000 tput_reqs=8000 ready_runs=21 pushes=50 decrypt_rounds=7 claims=2000 claim_runs=3
else
  rounds=5 lat_reqs=4000 tput_reqs=2000 ready_runs=9 pushes=20 decrypt_rounds=3 claims=400 claim_runs=1
fi

say() { printf '%s\n' "$*" >&2; }
phase_start=$SECONDS
phase() { say "[$((SECONDS - phase_start)) s] $*"; }

# ---------------------------------------------------------------- packages
need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v redis-cli >/dev/null || need+=(redis-tools)
command -v age >/dev/null || need+=(age)
if ((${#need[@]})); then
  if ((install)) && [[ $(id -u) -eq 0 ]]; then
    phase "installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt_install() { apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${need[@]}" >/dev/null; }
    apt_install || { apt-get -o DPkg::Lock::Timeout=300 update -qq && apt_install; }
  else
    say "bench: missing ${need[*]}; run as root without --no-install, or install them"
  fi
fi
if ! command -v age >/dev/null || ! command -v age-keygen >/dev/null; then say "bench: age is required"; exit 1; fi
have_redis=0
command -v redis-server >/dev/null && command -v redis-cli >/dev/null && have_redis=1

# ---------------------------------------------------------------- build
if [[ ! -f $build_dir/CMakeCache.txt ]]; then
  launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" >/dev/null
fi
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build_dir/CMakeCache.txt")
[[ $build_type == Release ]] || say "warning: $build_dir is a '$build_type' build; figures are for Release"
phase "building (not counted)"
cmake --build "$build_dir" -j "$jobs" --target epoll_line_server ndjson_load notify_ready_timer fsync_floor line_flood \
  >"$build_dir/bench-build.log" 2>&1 || { say "bench: the bench tools do not build:"; tail -n 30 "$build_dir/bench-build.log" >&2; exit 1; }
daemon_built=1
cmake --build "$build_dir" -j "$jobs" --target remo-broker remo-brokerctl >>"$build_dir/bench-build.log" 2>&1 || {
  daemon_built=0
  say "warning: remo-broker does not build (see $build_dir/bench-build.log); reference figures only"
}
claim_bench=$build_dir/tests/claim_throughput
cmake --build "$build_dir" -j "$jobs" --target claim_throughput >>"$build_dir/bench-build.log" 2>&1 || claim_bench=
broker=$build_dir/broker/remo-broker
ctl=$build_dir/broker/remo-brokerctl
tools=$build_dir/dev/bench
load=$tools/ndjson_load
ref_server=$tools/epoll_line_server
ready_timer=$tools/notify_ready_timer
fsync_floor=$tools/fsync_floor
line_flood=$tools/line_flood

# ---------------------------------------------------------------- sandboxes and cleanup
# /var/tmp is on the disk on every Debian layout (/tmp may be a tmpfs); /dev/shm is the tmpfs.
work=$(mktemp -d /var/tmp/remo-bench.XXXXXX)
shm=$(mktemp -d /dev/shm/remo-bench.XXXXXX)
sandbox=$work/sb
shm_sandbox=$shm/sb
daemon_pid='' shm_pid='' ref_pid='' redis_pid='' idle_pid='' flood_pid=''
stop_pid() {  # stop_pid PID: SIGTERM, wait up to 5 s, then SIGKILL
  local pid=$1 i
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
  stop_pid "$idle_pid"
  stop_pid "$flood_pid"
  stop_pid "$daemon_pid"
  stop_pid "$shm_pid"
  stop_pid "$ref_pid"
  stop_pid "$redis_pid"
  rm -rf "$work" "$shm"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cpu_busy_sample() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8}' /proc/stat; }
read -r busy0 total0 < <(cpu_busy_sample)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

mkdir -p "$sandbox/credentials" "$work/projects/bench/.devcontainer" "$shm_sandbox/credentials"
chmod 700 "$sandbox" "$sandbox/credentials" "$shm_sandbox" "$shm_sandbox/credentials"
age-keygen -o "$sandbox/credentials/bootstrap-key" 2>/dev/null
cp "$sandbox/credentials/bootstrap-key" "$shm_sandbox/credentials/bootstrap-key"
chmod 600 "$sandbox/credentials/bootstrap-key" "$shm_sandbox/credentials/bootstrap-key"
recipient=$(age-keygen -y "$sandbox/credentials/bootstrap-key")

# 100 secrets, ~10 KiB of ciphertext. SECRET_001 is shaped like a GitHub token (40 bytes), so a get reply is
# the size of the epoll server's fixed reply, and Redis holds the same value; the others are longer to bring
# the bundle to 10 KiB.
random_chars() { LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c "$1" || true; }
secret_001="ghp_$(random_chars 36)"
{
  printf 'SECRET_001 = "%s"\n' "$secret_001"
  for i in $(seq 2 100); do printf 'SECRET_%03d = "%s"\n' "$i" "$(random_chars 86)"; done
} >"$work/bundle.toml"
age -r "$recipient" -o "$work/bundle.age" "$work/bundle.toml"
rm -f "$work/bundle.toml"
bundle_bytes=$(stat -c %s "$work/bundle.age")
printf '{"op":"push-creds","ciphertext_b64":"%s"}\n' "$(base64 -w0 "$work/bundle.age")" >"$work/push.json"
allow=$(for i in $(seq 1 100); do printf '"SECRET_%03d", ' "$i"; done)
printf 'schema_version = 1\n[project]\nname = "bench"\n[allowlist]\nsecrets = [%s]\n' "${allow%, }" \
  >"$work/projects/bench/.devcontainer/remo-broker.toml"

admin_sock=$sandbox/run/admin.sock
project_sock=$sandbox/run/bench.sock
shm_admin_sock=$shm_sandbox/run/admin.sock
ref_sock=$work/ref.sock
redis_sock=$work/redis.sock
get_line='{"op":"get","name":"SECRET_001"}'

json_num() { sed -n "s/.*\"$1\":\([-0-9.e+]*\).*/\1/p" <<<"$2"; }
median() { printf '%s\n' "$@" | awk 'NF && $1 != "nan"' | sort -g | awk '{a[NR]=$1} END {if (NR == 0) print "nan";
  else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
last() { if (($#)); then echo "${!#}"; else echo n/a; fi; }
calc() { awk "BEGIN {printf \"%.${2:-2}f\", $1}"; }

running() { [[ -r /proc/$1/stat ]] && [[ $(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) != Z* ]]; }
wait_answering() {  # wait_answering SOCKET LINE PID [--resp]: polls until the socket answers (10 s)
  local i
  for ((i = 0; i < 500; i++)); do
    running "$3" || return 1
    "$load" --socket "$1" --once --timeout 2 --line "$2" ${4:+"$4"} >/dev/null 2>&1 && return 0
    sleep 0.02
  done
  return 1
}
start_daemon() {
  "$broker" --requests-per-second 0 --project-max-connections 4096 --sandbox "$sandbox" >>"$work/broker.log" 2>&1 &
  daemon_pid=$!
  wait_answering "$admin_sock" '{"op":"status"}' "$daemon_pid"
}
stop_daemon() { stop_pid "$daemon_pid"; daemon_pid=; }
admin() { "$load" --socket "$admin_sock" --once --timeout 10 "$@"; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo nan; }
threads_of() { awk '/^Threads:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo nan; }

"$ref_server" "$ref_sock" &
ref_pid=$!
wait_answering "$ref_sock" "$get_line" "$ref_pid" || { say "error: the reference server did not start"; exit 1; }
redis_args=(--port 0 --unixsocket "$redis_sock" --unixsocketperm 700 --save '' --appendonly no
  --logfile "$work/redis.log" --dir "$work")
if ((have_redis)); then
  redis-server "${redis_args[@]}" &
  redis_pid=$!
  if wait_answering "$redis_sock" "PING" "$redis_pid" --resp &&
    redis-cli -s "$redis_sock" SET SECRET_001 "$secret_001" >/dev/null; then
    :
  else
    say "warning: redis-server did not start (see $work/redis.log); Redis rows are n/a"
    stop_pid "$redis_pid"
    redis_pid='' have_redis=0
  fi
fi

# ---------------------------------------------------------------- daemon set-up (push, register)
daemon_ok=0
daemon_note=
if ((daemon_built)); then
  if ! start_daemon; then
    daemon_note="remo-broker did not answer on $admin_sock within 10 s"
  elif ! reply=$(admin --line-file "$work/push.json" --expect-ok); then
    daemon_note="push-creds failed: $reply"
  elif ! reply=$(admin --expect-ok \
    --line "{\"op\":\"register\",\"name\":\"bench\",\"project_path\":\"$work/projects/bench\"}"); then
    daemon_note="register failed: $reply"
  else
    daemon_ok=1
  fi
  stop_daemon
  if ((!daemon_ok)); then
    say "warning: $daemon_note; reference figures only. Daemon log:"
    tail -n 20 "$work/broker.log" >&2 || true
  fi
fi

# ---------------------------------------------------------------- start to READY (interleaved)
phase "start to READY: $ready_runs runs each"
declare -a ready_d=() ready_r=() ready_x=() ready_cpu_d=() ready_cpu_r=() ready_cpu_x=()
ready_via=
# READY=1 from sd_notify is what counts; only a daemon that never notifies is timed to its admin socket.
ready_fallback=()
if ((daemon_ok)) && ! "$ready_timer" --timeout 10 -- "$broker" --requests-per-second 0 --project-max-connections 4096 --sandbox "$sandbox" >/dev/null 2>>"$work/broker.log"; then
  say "warning: remo-broker sent no READY=1; start-to-READY is timed to its admin socket accepting"
  ready_fallback=(--wait-socket "$admin_sock")
fi
ready_redis() {
  "$ready_timer" --timeout 10 -- redis-server --supervised systemd --port 0 --unixsocket "$work/redis-ready.sock" \
    --save '' --appendonly no --logfile "$work/redis-ready.log" --dir "$work" 2>/dev/null || true
}
for ((i = 0; i < ready_runs; i++)); do
  if ((daemon_ok)); then
    out=$("$ready_timer" --timeout 10 "${ready_fallback[@]}" -- "$broker" --requests-per-second 0 --project-max-connections 4096 --sandbox "$sandbox" \
      2>>"$work/broker.log") || { say "warning: READY run failed: $out"; out=; }
    if [[ -n $out ]]; then
      ready_d+=("$(json_num ready_ms "$out")")
      ready_cpu_d+=("$(json_num ready_cpu_ms "$out")")
      ready_via=$(sed -n 's/.*"via":"\([a-z]*\)".*/\1/p' <<<"$out")
    fi
  fi
  out=$("$ready_timer" --timeout 10 -- "$ref_server" "$work/ref-ready.sock" 2>/dev/null) || true
  [[ -n $out ]] && ready_r+=("$(json_num ready_ms "$out")") ready_cpu_r+=("$(json_num ready_cpu_ms "$out")")
  if ((have_redis)); then
    out=$(ready_redis)
    [[ -n $out ]] && ready_x+=("$(json_num ready_ms "$out")") ready_cpu_x+=("$(json_num ready_cpu_ms "$out")")
  fi
done

# ---------------------------------------------------------------- get latency and throughput (interleaved)
if ((daemon_ok)); then
  start_daemon || { daemon_ok=0; daemon_note="remo-broker did not restart"; }
fi
rss_fresh_d=nan threads_fresh_d=nan
if ((daemon_ok)); then
  status=$(admin --line '{"op":"status"}' || true)
  status_count=$(json_num secret_count "$status")
  [[ $status_count == 100 ]] || say "warning: after restart the daemon reports secret_count=${status_count:-?} (expected 100)"
  sleep 1
  rss_fresh_d=$(rss_kib "$daemon_pid")
  threads_fresh_d=$(threads_of "$daemon_pid")
  if ! reply=$("$load" --socket "$project_sock" --once --expect-ok --line "$get_line" 2>&1); then
    daemon_ok=0
    daemon_note="get on $project_sock failed: $reply"
    say "warning: $daemon_note"
  fi
fi

declare -a lat_d=() lat_r=() lat_x=() lat99_d=() lat99_r=() lat99_x=() tput_d=() tput_r=() tput_x=()
declare -a tput1_d=() tput1_r=() tput1_x=()
errors_d=0
run_pair() {  # run_pair daemon|epoll|redis: one 1-connection run and one 16-connection run
  local sock=$ref_sock line=$get_line resp=() out1 out16 e1 e16
  case $1 in
    daemon) sock=$project_sock ;;
    redis) sock=$redis_sock line="GET SECRET_001" resp=(--resp) ;;
  esac
  out1=$("$load" --socket "$sock" "${resp[@]}" --line "$line" --connections 1 --requests-per-conn "$lat_reqs" \
    --warmup 200) || { say "warning: $1: 1-connection run failed"; out1=; }
  out16=$("$load" --socket "$sock" "${resp[@]}" --line "$line" --connections 16 \
    --requests-per-conn "$tput_reqs" --warmup 50) || { say "warning: $1: 16-connection run failed"; out16=; }
  local p50 p99 r1 r16
  p50=$(json_num p50_us "$out1") p99=$(json_num p99_us "$out1") r1=$(json_num rps "$out1") r16=$(json_num rps "$out16")
  case $1 in
    daemon)
      lat_d+=("${p50:-nan}") lat99_d+=("${p99:-nan}") tput1_d+=("${r1:-nan}") tput_d+=("${r16:-nan}")
      e1=$(json_num errors "$out1") e16=$(json_num errors "$out16")
      errors_d=$((errors_d + ${e1:-0} + ${e16:-0})) ;;
    epoll) lat_r+=("${p50:-nan}") lat99_r+=("${p99:-nan}") tput1_r+=("${r1:-nan}") tput_r+=("${r16:-nan}") ;;
    redis) lat_x+=("${p50:-nan}") lat99_x+=("${p99:-nan}") tput1_x+=("${r1:-nan}") tput_x+=("${r16:-nan}") ;;
  esac
}
contenders=(epoll)
((daemon_ok)) && contenders=(daemon "${contenders[@]}")
((have_redis)) && contenders+=(redis)
phase "get rounds: $rounds x (1 conn x $lat_reqs, 16 conns x $tput_reqs) for ${contenders[*]}, order rotating"
for ((r = 0; r < rounds; r++)); do
  n=${#contenders[@]}
  for ((k = 0; k < n; k++)); do run_pair "${contenders[$(((r + k) % n))]}"; done
  say "  round $((r + 1)): p50 us daemon=$(last "${lat_d[@]}") epoll=$(last "${lat_r[@]}")" \
    "redis=$(last "${lat_x[@]}")   16-conn req/s daemon=$(last "${tput_d[@]}") epoll=$(last "${tput_r[@]}")" \
    "redis=$(last "${tput_x[@]}")"
done

# ---------------------------------------------------------------- push-creds against the fsync floor
phase "push-creds: 3 rounds x $pushes pushes, disk and tmpfs, each beside its fsync floor"
declare -a push_d=() push_s=() floor_d=() floor_s=()
errors_push=0
shm_ok=0
if ((daemon_ok)); then
  "$broker" --requests-per-second 0 --project-max-connections 4096 --sandbox "$shm_sandbox" >>"$work/broker-shm.log" 2>&1 &
  shm_pid=$!
  wait_answering "$shm_admin_sock" '{"op":"status"}' "$shm_pid" && shm_ok=1
  ((shm_ok)) || say "warning: the tmpfs daemon did not start; tmpfs push row is n/a"
fi
push_run() {  # push_run SOCKET: p50 us of $pushes pushes on one connection
  local out e
  out=$("$load" --socket "$1" --line-file "$work/push.json" --requests-per-conn "$pushes" --warmup 2 \
    --timeout 30) || { say "warning: push-creds run failed"; echo nan; return; }
  e=$(json_num errors "$out")
  errors_push=$((errors_push + ${e:-0}))
  json_num p50_us "$out"
}
mkdir -p "$work/floor" "$shm/floor"
for ((r = 0; r < 3; r++)); do
  floor_d+=("$(json_num p50_ms "$("$fsync_floor" "$sandbox/state" --bytes "$bundle_bytes" --runs "$pushes")")")
  ((daemon_ok)) && push_d+=("$(push_run "$admin_sock")")
  floor_s+=("$(json_num p50_ms "$("$fsync_floor" "$shm_sandbox/state" --bytes "$bundle_bytes" --runs "$pushes" \
    2>/dev/null || "$fsync_floor" "$shm/floor" --bytes "$bundle_bytes" --runs "$pushes")")")
  ((shm_ok)) && push_s+=("$(push_run "$shm_admin_sock")")
done
stop_pid "$shm_pid"
shm_pid=

# ---------------------------------------------------------------- claims in process (ClaimLedger)
declare -a claim1=() claim16=() claim_ref=()
if [[ -n $claim_bench && -x $claim_bench ]]; then
  phase "claims in process: $claim_runs x $claims claims, 1 and 16 claimers"
  for ((r = 0; r < claim_runs; r++)); do
    out=$("$claim_bench" --dir "$work" --secrets "$claims" --claimers 1,16 --target 0 2>&1) || {
      say "warning: claim_throughput failed: $out"; continue; }
    claim1+=("$(awk '$1 == 1 && $2 == "claimer" {print $3}' <<<"$out")")
    claim16+=("$(awk '$1 == 16 && $2 == "claimers" {print $3}' <<<"$out")")
    claim_ref+=("$(awk '$1 == 16 && $2 == "claimers" {sub("/s", "", $11); print $11}' <<<"$out")")
  done
fi

# ---------------------------------------------------------------- idle RSS
phase "idle RSS after the get rounds and the pushes"
sleep 3  # idle: the daemon hands freed memory back 1-2 s after the last request (TrimAfterBursts)
rss_d=nan rss_idle_conns_d=nan threads_d=nan rss_x=nan
((daemon_ok)) && rss_d=$(rss_kib "$daemon_pid") && threads_d=$(threads_of "$daemon_pid")
rss_r=$(rss_kib "$ref_pid")
((have_redis)) && rss_x=$(rss_kib "$redis_pid")

# ---------------------------------------------------------------- claims over the socket (when the op exists)
claim_sock_rps=n/a claim_sock_note="n/a"
if ((daemon_ok)); then
  phase "claims over the socket"
  # The request shape is the protocol's claim-create; BENCH_CLAIM_CREATE overrides it (printf, %s = value).
  create_fmt=${BENCH_CLAIM_CREATE:-'{"op":"claim-create","project":"bench","value":"%s","ttl_seconds":600}'}
  # shellcheck disable=SC2059  # the format is the point
  probe=$(admin --line "$(printf "$create_fmt" "v-probe")" 2>&1 || true)
  if [[ $probe == *"not implemented"* ]]; then
    claim_sock_note="n/a (claim-create: not implemented yet)"
  elif [[ $probe != *'"ok":true'* ]]; then
    claim_sock_note="n/a (claim-create: $(sed -n 's/.*"message":"\([^"]*\)".*/\1/p' <<<"$probe" | head -c 80))"
  else
    : >"$work/claims.ndjson"
    for ((i = 0; i < claims + 16 * 2; i++)); do
      # shellcheck disable=SC2059
      out=$(admin --line "$(printf "$create_fmt" "v-$i-$(random_chars 24)")") || break
      token=$(sed -n 's/.*"token":"\([^"]*\)".*/\1/p' <<<"$out")
      [[ -n $token ]] || break
      printf '{"op":"claim","token":"%s"}\n' "$token" >>"$work/claims.ndjson"
    done
    made=$(wc -l <"$work/claims.ndjson")
    first=$(head -n 1 "$work/claims.ndjson")
    try=$("$load" --socket "$project_sock" --once --line "$first" 2>&1 || true)
    if [[ $try == *"not implemented"* ]]; then
      claim_sock_note="n/a (claim: not implemented yet)"
    elif ((made < claims + 32)); then
      claim_sock_note="n/a (claim-create gave $made tokens: ${out:0:80})"
    else
      tail -n +2 "$work/claims.ndjson" >"$work/claims-rest.ndjson"
      out=$("$load" --socket "$project_sock" --lines-file "$work/claims-rest.ndjson" --connections 16 \
        --requests-per-conn "$((claims / 16))" --warmup 1 --timeout 30 2>&1) || out=
      claim_sock_rps=$(json_num rps "$out")
      e=$(json_num errors "$out")
      if [[ -z $claim_sock_rps ]]; then
        claim_sock_rps=n/a claim_sock_note="n/a (claim run failed)"
      elif [[ ${e:-0} != 0 ]]; then
        claim_sock_note="INVALID ($e ok:false replies)"
      else
        claim_sock_note=
      fi
    fi
  fi
fi

rss_claims_d=nan
if ((daemon_ok)) && [[ -z $claim_sock_note ]]; then  # informational: the same, now holding the ledger
  sleep 3
  rss_claims_d=$(rss_kib "$daemon_pid")
fi
if ((daemon_ok)); then  # informational: RSS while 100 idle project connections are open
  coproc idle { "$load" --socket "$project_sock" --connect-only 100 --hold 30; }
  # shellcheck disable=SC2154  # idle_PID is set by coproc
  idle_pid=$idle_PID
  if read -r -t 10 _ <&"${idle[0]}"; then
    sleep 0.5
    rss_idle_conns_d=$(rss_kib "$daemon_pid")
  fi
  stop_pid "$idle_pid"
  stop_pid "$flood_pid"
  idle_pid=
fi
# ---------------------------------------------------------------- a neighbour's gets beside a hostile flood
# Project "flood" (limits 100/s, burst 200, the broker's defaults) floods at full speed with every kind of
# line (dev/bench/line_flood, 4 connections); "bench" is the neighbour. Each round measures the neighbour's
# 1-connection get p99 alone, then with the flood running, so the ratio compares like with like.
declare -a flood_alone=() flood_beside=()
flood_lines=n/a
if ((daemon_ok)) && [[ -x $line_flood ]]; then
  phase "neighbour under a flood: $rounds x (1 conn x $lat_reqs gets alone, then beside a 4-connection flood)"
  mkdir -p "$work/projects/flood/.devcontainer"
  printf '%s\n' 'schema_version = 1' '[project]' 'name = "flood"' '[allowlist]' 'secrets = ["SECRET_001"]' \
    '[limits]' 'requests_per_second = 100' 'burst = 200' >"$work/projects/flood/.devcontainer/remo-broker.toml"
  if admin --expect-ok --line "{\"op\":\"register\",\"name\":\"flood\",\"project_path\":\"$work/projects/flood\"}" \
    >/dev/null; then
    for ((r = 0; r < rounds; r++)); do
      out=$("$load" --socket "$project_sock" --line "$get_line" --requests-per-conn "$lat_reqs" --warmup 200) || out=
      flood_alone+=("$(json_num p99_us "$out")")
      "$line_flood" --socket "$sandbox/run/flood.sock" --connections 4 --seconds 600 >"$work/flood.out" &
      flood_pid=$!
      sleep 0.5  # at full speed
      out=$("$load" --socket "$project_sock" --line "$get_line" --requests-per-conn "$lat_reqs" --warmup 200) || out=
      flood_beside+=("$(json_num p99_us "$out")")
      stop_pid "$flood_pid"
      flood_lines=$(json_num lines "$(cat "$work/flood.out")")
    done
  else
    say "warning: could not register the flood project; the neighbour row is n/a"
  fi
fi

audit_lines=n/a
((daemon_ok)) && audit_lines=$(wc -l <"$sandbox/log/audit.log" 2>/dev/null || echo 0)
stop_daemon
stop_pid "$redis_pid"
redis_pid=

# ---------------------------------------------------------------- decrypt (after the servers are down)
dec_ours=nan dec_age=nan
if ((daemon_built)); then
  phase "decrypt: $decrypt_rounds x 64 MiB, remo-brokerctl and age alternating"
  if dec=$(BENCH_SIZE_MIB=64 BENCH_ROUNDS=$decrypt_rounds dev/bench_decrypt.sh "$build_dir" 2>&1); then
    dec_age=$(awk '$1 == "age" && $2 == "-d" {print $6}' <<<"$dec")
    dec_ours=$(awk '$1 == "remo-brokerctl" && $2 == "decrypt" {print $6}' <<<"$dec")
  else
    say "warning: dev/bench_decrypt.sh failed: $dec"
  fi
fi

# ---------------------------------------------------------------- binary sizes
strip_size() { cp "$1" "$work/stripped" && strip "$work/stripped" 2>/dev/null && stat -c %s "$work/stripped"; }
size_d=nan size_d_raw=nan size_c=nan size_c_raw=nan
if ((daemon_built)); then
  size_d=$(strip_size "$broker") size_d_raw=$(stat -c %s "$broker")
  size_c=$(strip_size "$ctl") size_c_raw=$(stat -c %s "$ctl")
fi
size_r=$(strip_size "$ref_server") size_r_raw=$(stat -c %s "$ref_server")
age_bin=$(command -v age)
size_age=$(strip_size "$age_bin" || stat -c %s "$age_bin") size_age_raw=$(stat -c %s "$age_bin")

# ---------------------------------------------------------------- report
read -r busy1 total1 < <(cpu_busy_sample)
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
busy_pct=$(calc "100 * ($busy1 - $busy0) / ($total1 - $total0)" 0)
phase "done"

is_num() { [[ $1 =~ ^[0-9.e+-]+$ ]]; }
ratio() { if is_num "$1" && is_num "$2"; then calc "$1 / $2" 2; else echo n/a; fi; }
verdict() {  # verdict VALUE OP LIMIT
  is_num "$1" || { echo n/a; return; }
  if awk "BEGIN {exit !($1 $2 $3)}"; then echo PASS; else echo FAIL; fi
}
fmt() { if is_num "$1"; then calc "$1" "${2:-1}"; else echo n/a; fi; }
kib() { if is_num "$1"; then calc "$1 / 1024" "${2:-0}"; else echo n/a; fi; }
mib() { if is_num "$1"; then calc "$1 / 1024" 2; else echo n/a; fi; }
ms() { if is_num "$1"; then calc "$1 / 1000" 3; else echo n/a; fi; }

m() { median "$@"; }
m_lat_d=$(m "${lat_d[@]}") m_lat_r=$(m "${lat_r[@]}") m_lat_x=$(m "${lat_x[@]}")
m_lat99_d=$(m "${lat99_d[@]}") m_lat99_r=$(m "${lat99_r[@]}") m_lat99_x=$(m "${lat99_x[@]}")
m_t1_d=$(m "${tput1_d[@]}") m_t1_r=$(m "${tput1_r[@]}") m_t1_x=$(m "${tput1_x[@]}")
m_t16_d=$(m "${tput_d[@]}") m_t16_r=$(m "${tput_r[@]}") m_t16_x=$(m "${tput_x[@]}")
m_ready_d=$(m "${ready_d[@]}") m_ready_r=$(m "${ready_r[@]}") m_ready_x=$(m "${ready_x[@]}")
m_rcpu_d=$(m "${ready_cpu_d[@]}") m_rcpu_r=$(m "${ready_cpu_r[@]}") m_rcpu_x=$(m "${ready_cpu_x[@]}")
m_push_d=$(ms "$(m "${push_d[@]}")") m_push_s=$(ms "$(m "${push_s[@]}")")
m_floor_d=$(m "${floor_d[@]}") m_floor_s=$(m "${floor_s[@]}")
m_flood_alone=$(m "${flood_alone[@]}") m_flood_beside=$(m "${flood_beside[@]}")
r_flood=$(ratio "$m_flood_beside" "$m_flood_alone")
m_claim1=$(m "${claim1[@]}") m_claim16=$(m "${claim16[@]}") m_claim_ref=$(m "${claim_ref[@]}")

r_lat=$(ratio "$m_lat_d" "$m_lat_r")
r_t16=$(ratio "$m_t16_d" "$m_t16_r")
v_lat=$(verdict "$r_lat" '<=' 1.5)
v_t16=$(verdict "$r_t16" '>=' 0.8)
v_get=
((errors_d > 0)) && v_get=" INVALID ($errors_d ok:false replies)"
v_push=$(verdict "$m_push_d" '<' 2)
v_push_s=$(verdict "$m_push_s" '<' 2)
((errors_push > 0)) && v_push="INVALID ($errors_push ok:false replies)" v_push_s=$v_push
claim_ref_sock=$m_claim16
[[ $claim_sock_rps == n/a ]] && claim_ref_sock=n/a

rows=(
  "get p50 latency, 1 conn (us)|$(fmt "$m_lat_d")|epoll $(fmt "$m_lat_r")|$r_lat|<= 1.5x|$v_lat$v_get"
  "get p50 latency, 1 conn (us)|$(fmt "$m_lat_d")|redis $(fmt "$m_lat_x")|$(ratio "$m_lat_d" "$m_lat_x")|-|-"
  "get p99 latency, 1 conn (us)|$(fmt "$m_lat99_d")|epoll $(fmt "$m_lat99_r")|$(ratio "$m_lat99_d" "$m_lat99_r")|-|-"
  "get p99 latency, 1 conn (us)|$(fmt "$m_lat99_d")|redis $(fmt "$m_lat99_x")|$(ratio "$m_lat99_d" "$m_lat99_x")|-|-"
  "get throughput, 1 conn (req/s)|$(fmt "$m_t1_d" 0)|epoll $(fmt "$m_t1_r" 0)|$(ratio "$m_t1_d" "$m_t1_r")|-|-"
  "get throughput, 1 conn (req/s)|$(fmt "$m_t1_d" 0)|redis $(fmt "$m_t1_x" 0)|$(ratio "$m_t1_d" "$m_t1_x")|-|-"
  "get throughput, 16 conns, audit on (req/s)|$(fmt "$m_t16_d" 0)|epoll $(fmt "$m_t16_r" 0)|$r_t16|>= 0.8x|$v_t16$v_get"
  "get throughput, 16 conns, audit on (req/s)|$(fmt "$m_t16_d" 0)|redis $(fmt "$m_t16_x" 0)|$(ratio "$m_t16_d" "$m_t16_x")|-|-"
  "neighbour get p99, 1 conn, beside a flood of every line kind (us)|$(fmt "$m_flood_beside")|alone $(fmt "$m_flood_alone")|$r_flood|<= 2x|$(verdict "$r_flood" '<=' 2)"
  "decrypt 64 MiB, wall (MiB/s)|$(fmt "$dec_ours")|age -d $(fmt "$dec_age")|$(ratio "$dec_ours" "$dec_age")|-|-"
  "push-creds p50, $((bundle_bytes / 1024)) KiB, disk (ms)|$m_push_d|fsync floor $(fmt "$m_floor_d" 3)|$(ratio "$m_push_d" "$m_floor_d")|< 2 ms|$v_push"
  "push-creds p50, $((bundle_bytes / 1024)) KiB, tmpfs (ms)|$m_push_s|fsync floor $(fmt "$m_floor_s" 3)|$(ratio "$m_push_s" "$m_floor_s")|< 2 ms|$v_push_s"
  "claims in process, 1 claimer (claims/s)|$(fmt "$m_claim1" 0)|-|-|-|-"
  "claims in process, 16 claimers (claims/s)|$(fmt "$m_claim16" 0)|1 write/claim $(fmt "$m_claim_ref" 0)|$(ratio "$m_claim16" "$m_claim_ref")|>= 5000/s|$(verdict "$m_claim16" '>=' 5000)"
  "claims over the socket, 16 conns (claims/s)|$(fmt "$claim_sock_rps" 0)|in process $(fmt "$claim_ref_sock" 0)|$(ratio "$claim_sock_rps" "$claim_ref_sock")|-|${claim_sock_note:--}"
  "start to READY, 100 secrets + 1 project (ms)|$(fmt "$m_ready_d" 2)|epoll $(fmt "$m_ready_r" 2)|$(ratio "$m_ready_d" "$m_ready_r")|< 20 ms|$(verdict "$m_ready_d" '<' 20)"
  "start to READY (ms)|$(fmt "$m_ready_d" 2)|redis $(fmt "$m_ready_x" 2)|$(ratio "$m_ready_d" "$m_ready_x")|-|-"
  "start to READY, CPU time used (ms)|$(fmt "$m_rcpu_d" 2)|epoll $(fmt "$m_rcpu_r" 2)|$(ratio "$m_rcpu_d" "$m_rcpu_r")|-|-"
  "start to READY, CPU time used (ms)|$(fmt "$m_rcpu_d" 2)|redis $(fmt "$m_rcpu_x" 2)|$(ratio "$m_rcpu_d" "$m_rcpu_x")|-|-"
  "idle RSS after load (MiB)|$(mib "$rss_d")|epoll $(mib "$rss_r")|$(ratio "$rss_d" "$rss_r")|< 6 MiB|$(verdict "$(mib "$rss_d")" '<' 6)"
  "idle RSS after load (MiB)|$(mib "$rss_d")|redis $(mib "$rss_x")|$(ratio "$rss_d" "$rss_x")|-|-"
  "idle RSS after claims ($((claims + 32)) created, $claims claimed) (MiB)|$(mib "$rss_claims_d")|-|-|-|-"
  "idle RSS just after start (MiB)|$(mib "$rss_fresh_d")|epoll $(mib "$rss_r")|$(ratio "$rss_fresh_d" "$rss_r")|< 6 MiB|$(verdict "$(mib "$rss_fresh_d")" '<' 6)"
  "RSS with 100 idle connections (MiB)|$(mib "$rss_idle_conns_d")|-|-|-|-"
  "threads at idle (after start / after load)|$threads_fresh_d / $threads_d|epoll 1|-|-|-"
  "remo-broker size, stripped (KiB)|$(kib "$size_d")|epoll $(kib "$size_r")|$(ratio "$size_d" "$size_r")|-|-"
  "remo-broker size, as built (KiB)|$(kib "$size_d_raw")|epoll $(kib "$size_r_raw")|$(ratio "$size_d_raw" "$size_r_raw")|-|-"
  "remo-brokerctl size, stripped (KiB)|$(kib "$size_c")|age $(kib "$size_age")|$(ratio "$size_c" "$size_age")|-|-"
  "remo-brokerctl size, as built (KiB)|$(kib "$size_c_raw")|age $(kib "$size_age_raw")|$(ratio "$size_c_raw" "$size_age_raw")|-|-"
)

cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
disk=$(findmnt -no SOURCE,FSTYPE -T "$work" | tr -s ' ')
disk_dev=$(basename "$(findmnt -no SOURCE -T "$work")")
rota=$(cat "/sys/block/$disk_dev/queue/rotational" 2>/dev/null || echo '?')
virt=$(systemd-detect-virt 2>/dev/null || echo unknown)
mode=quick
((full)) && mode=full
echo
echo "remo-broker benchmark ($mode): $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "machine: $(nproc) CPUs ($cpu_model), kernel $(uname -r), virt $virt, disk $disk (rotational=$rota), tmpfs /dev/shm"
echo "load: loadavg $load_start at start, $load_end at end; CPU busy $busy_pct% over the run (all processes)"
echo "method: medians of $rounds interleaved rounds (1 conn x $lat_reqs gets; 16 conns x $tput_reqs gets each);"
echo "  client dev/bench/ndjson_load for all three servers (RESP2 for Redis, GET of the same 40-byte value);"
echo "  start to READY $ready_runs runs each (daemon via ${ready_via:-n/a}); push-creds 3 x $pushes of $bundle_bytes bytes;"
echo "  decrypt $decrypt_rounds x 64 MiB; claims $claim_runs x $claims; daemon audit.log lines after the run: $audit_lines"
echo "  neighbour row: 4 flood connections, last round's flood answered $flood_lines lines"
echo "ratio = ours / reference (lower is better for times and sizes, higher for rates)"
echo
{
  echo "metric|remo-broker|reference|ratio|target|verdict"
  echo "---|---|---|---|---|---"
  printf '%s\n' "${rows[@]}"
} | column -t -s '|' -o ' | '
if ((!daemon_ok)); then
  echo
  echo "remo-broker not measured: ${daemon_note:-it did not build}"
fi
exit 0
