#!/usr/bin/env bash
# Benchmarks the real remo-broker against a trivial epoll line server, side by side in one run.
#   dev/bench_daemon.sh [BUILD_DIR]        (default: build; configured as Release if it does not exist)
# Knobs (environment): BENCH_ROUNDS=7 interleaved rounds, BENCH_LAT_REQS=5000 requests for the 1-connection
# latency run, BENCH_TPUT_REQS=3000 requests per connection for the 16-connection run, BENCH_READY_RUNS=7,
# BENCH_PUSHES=20 pushes per push-creds round, BENCH_JOBS=1 build parallelism.
#
# What it does: builds remo-broker and the dev/bench tools, makes a sandbox with a bootstrap key from
# age-keygen and a 100-secret bundle (~10 KiB, encrypted with `age -r`), pushes it and registers project
# "bench" through the admin socket, then measures start-to-READY (restarting with that state), get latency
# on one connection and throughput on 16 (audit on, as always), push-creds latency, idle RSS and the
# stripped binary size; an info row gives the disk floor under push-creds (dev/bench/fsync_floor).
# The reference (dev/bench/epoll_line_server, one thread, level-triggered epoll, fixed reply) runs the
# same load, interleaved with the daemon's, alternating which goes first; each figure is the median over
# the rounds. Nothing is pinned; the daemon runs with its default threads.
# It is a report: it exits 0 whether or not targets are met (non-zero only when it cannot run at all).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build_dir=${1:-build}
[[ $build_dir = /* ]] || build_dir=$root/$build_dir

rounds=${BENCH_ROUNDS:-7}
lat_reqs=${BENCH_LAT_REQS:-5000}
tput_reqs=${BENCH_TPUT_REQS:-3000}
ready_runs=${BENCH_READY_RUNS:-7}
pushes=${BENCH_PUSHES:-20}
jobs=${BENCH_JOBS:-1}

say() { printf '%s\n' "$*" >&2; }
phase_start=$SECONDS
phase() { say "[$((SECONDS - phase_start)) s] $*"; }

# ---------------------------------------------------------------- build
if [[ ! -f $build_dir/CMakeCache.txt ]]; then
  cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build_dir/CMakeCache.txt")
[[ $build_type == Release ]] || say "warning: $build_dir is a '$build_type' build; figures are for Release"
phase "building (not counted in the run time budget)"
cmake --build "$build_dir" -j "$jobs" --target epoll_line_server ndjson_load notify_ready_timer fsync_floor >/dev/null
daemon_built=1
if ! cmake --build "$build_dir" -j "$jobs" --target remo-broker >"$build_dir/bench-daemon-build.log" 2>&1; then
  daemon_built=0
  say "warning: remo-broker does not build (see $build_dir/bench-daemon-build.log); reference figures only"
fi
broker=$build_dir/broker/remo-broker
tools=$build_dir/dev/bench
load=$tools/ndjson_load
ref_server=$tools/epoll_line_server
ready_timer=$tools/notify_ready_timer
fsync_floor=$tools/fsync_floor
phase "built; setting up the sandbox"

# ---------------------------------------------------------------- sandbox and cleanup
work=$(mktemp -d /tmp/remo-bench.XXXXXX)
sandbox=$work/sb
daemon_pid=
ref_pid=
idle_pid=
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
  stop_pid "$daemon_pid"
  stop_pid "$ref_pid"
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$sandbox/credentials" "$work/projects/bench/.devcontainer"
chmod 700 "$sandbox" "$sandbox/credentials"
age-keygen -o "$sandbox/credentials/bootstrap-key" 2>/dev/null
chmod 600 "$sandbox/credentials/bootstrap-key"
recipient=$(age-keygen -y "$sandbox/credentials/bootstrap-key")

# 100 secrets, ~10 KiB of ciphertext. SECRET_001 is shaped like a GitHub token so a `get` reply is the size
# of the reference's fixed reply; the others are longer to bring the bundle to 10 KiB.
random_chars() { LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c "$1"; }
{
  printf 'SECRET_001 = "ghp_%s"\n' "$(random_chars 36)"
  for i in $(seq 2 100); do printf 'SECRET_%03d = "%s"\n' "$i" "$(random_chars 86)"; done
} >"$work/bundle.toml"
age -r "$recipient" -o "$work/bundle.age" "$work/bundle.toml"
bundle_bytes=$(stat -c %s "$work/bundle.age")
printf '{"op":"push-creds","ciphertext_b64":"%s"}\n' "$(base64 -w0 "$work/bundle.age")" >"$work/push.json"
rm -f "$work/bundle.toml"
allow=$(for i in $(seq 1 100); do printf '"SECRET_%03d", ' "$i"; done)
printf 'schema_version = 1\n[project]\nname = "bench"\n[allowlist]\nsecrets = [%s]\n' "${allow%, }" \
  >"$work/projects/bench/.devcontainer/remo-broker.toml"

admin_sock=$sandbox/run/admin.sock
project_sock=$sandbox/run/bench.sock
ref_sock=$work/ref.sock
get_line='{"op":"get","name":"SECRET_001"}'

json_num() { sed -n "s/.*\"$1\":\([-0-9.e+]*\).*/\1/p" <<<"$2"; }
median() { printf '%s\n' "$@" | awk 'NF' | sort -g | awk '{a[NR]=$1} END {if (NR == 0) print "nan";
  else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
calc() { awk "BEGIN {printf \"%.${2:-2}f\", $1}"; }

running() { [[ -r /proc/$1/stat ]] && [[ $(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) != Z* ]]; }
wait_answering() {  # wait_answering SOCKET LINE PID: polls until the socket answers (10 s)
  local i
  for ((i = 0; i < 500; i++)); do
    running "$3" || return 1
    "$load" --socket "$1" --once --timeout 2 --line "$2" >/dev/null 2>&1 && return 0
    sleep 0.02
  done
  return 1
}
start_daemon() {
  "$broker" --sandbox "$sandbox" --requests-per-second 0 >>"$work/broker.log" 2>&1 &  # measure the daemon, not the limit
  daemon_pid=$!
  wait_answering "$admin_sock" '{"op":"status"}' "$daemon_pid"
}
stop_daemon() { stop_pid "$daemon_pid"; daemon_pid=; }
admin() { "$load" --socket "$admin_sock" --once --timeout 10 "$@"; }

"$ref_server" "$ref_sock" &
ref_pid=$!
wait_answering "$ref_sock" "$get_line" "$ref_pid" || { say "error: the reference server did not start"; exit 1; }

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
declare -a ready_d=() ready_r=()
ready_via=
# READY=1 from sd_notify is what counts; only a daemon that never notifies is timed to its admin socket.
ready_fallback=()
if ((daemon_ok)) && ! "$ready_timer" --timeout 10 -- "$broker" --sandbox "$sandbox" >/dev/null 2>>"$work/broker.log"; then
  say "warning: remo-broker sent no READY=1; start-to-READY is timed to its admin socket accepting"
  ready_fallback=(--wait-socket "$admin_sock")
fi
for ((i = 0; i < ready_runs; i++)); do
  if ((daemon_ok)); then
    out=$("$ready_timer" --timeout 10 "${ready_fallback[@]}" -- "$broker" --sandbox "$sandbox" \
      2>>"$work/broker.log") || { say "warning: READY run failed: $out"; out=; }
    if [[ -n $out ]]; then
      ready_d+=("$(json_num ready_ms "$out")")
      ready_via=$(sed -n 's/.*"via":"\([a-z]*\)".*/\1/p' <<<"$out")
    fi
  fi
  out=$("$ready_timer" --timeout 10 -- "$ref_server" "$work/ref-ready.sock" 2>/dev/null) || true
  [[ -n $out ]] && ready_r+=("$(json_num ready_ms "$out")")
done

# ---------------------------------------------------------------- latency and throughput (interleaved)
if ((daemon_ok)); then
  start_daemon || { daemon_ok=0; daemon_note="remo-broker did not restart"; }
fi
status_count=
if ((daemon_ok)); then
  status=$(admin --line '{"op":"status"}' || true)
  status_count=$(json_num secret_count "$status")
  [[ $status_count == 100 ]] || say "warning: after restart the daemon reports secret_count=${status_count:-?} (expected 100)"
  if ! reply=$("$load" --socket "$project_sock" --once --expect-ok --line "$get_line" 2>&1); then
    daemon_ok=0
    daemon_note="get on $project_sock failed: $reply"
    say "warning: $daemon_note"
  fi
fi

declare -a lat_d=() lat_r=() tput_d=() tput_r=() lat99_d=() lat99_r=()
errors_d=0
run_pair() {  # run_pair WHICH: one latency run and one throughput run against daemon|reference
  local sock=$ref_sock out1 out16 e1 e16
  [[ $1 == daemon ]] && sock=$project_sock
  out1=$("$load" --socket "$sock" --line "$get_line" --connections 1 --requests-per-conn "$lat_reqs" \
    --warmup 200) || say "warning: $1: 1-connection run failed"
  out16=$("$load" --socket "$sock" --line "$get_line" --connections 16 --requests-per-conn "$tput_reqs" \
    --warmup 50) || say "warning: $1: 16-connection run failed"
  if [[ $1 == daemon ]]; then
    lat_d+=("$(json_num p50_us "$out1")")
    lat99_d+=("$(json_num p99_us "$out1")")
    tput_d+=("$(json_num rps "$out16")")
    e1=$(json_num errors "$out1") e16=$(json_num errors "$out16")
    errors_d=$((errors_d + ${e1:-0} + ${e16:-0}))
  else
    lat_r+=("$(json_num p50_us "$out1")")
    lat99_r+=("$(json_num p99_us "$out1")")
    tput_r+=("$(json_num rps "$out16")")
  fi
}
phase "get rounds: $rounds x (1 conn x $lat_reqs gets, 16 conns x $tput_reqs gets), daemon and reference alternating first"
for ((r = 0; r < rounds; r++)); do
  if ((daemon_ok)) && ((r % 2 == 0)); then run_pair daemon; fi
  run_pair reference
  if ((daemon_ok)) && ((r % 2 == 1)); then run_pair daemon; fi
  d_lat=n/a d_tput=n/a
  ((${#lat_d[@]})) && d_lat=${lat_d[-1]} d_tput=${tput_d[-1]}
  say "  round $((r + 1)): get p50 us daemon=$d_lat ref=${lat_r[-1]}   16-conn req/s daemon=$d_tput ref=${tput_r[-1]}"
done

# ---------------------------------------------------------------- push-creds (interleaved with the reference)
phase "push-creds: 3 x $pushes pushes each"
declare -a push_d=() push_r=()
errors_push=0
for ((r = 0; r < 3; r++)); do
  if ((daemon_ok)); then
    out=$("$load" --socket "$admin_sock" --line-file "$work/push.json" --requests-per-conn "$pushes" --warmup 2 \
      --timeout 30) || say "warning: push-creds run failed"
    push_d+=("$(json_num p50_us "$out")")
    e=$(json_num errors "$out")
    errors_push=$((errors_push + ${e:-0}))
  fi
  out=$("$load" --socket "$ref_sock" --line-file "$work/push.json" --requests-per-conn "$pushes" --warmup 2)
  push_r+=("$(json_num p50_us "$out")")
done

# The floor under push-creds: one durable atomic replace (write, fsync, rename, fsync dir) on this disk.
floor=$("$fsync_floor" "$sandbox/state" --bytes "$bundle_bytes" --runs 20 2>/dev/null || "$fsync_floor" "$work" \
  --bytes "$bundle_bytes" --runs 20)
floor_ms=$(json_num p50_ms "$floor")

# ---------------------------------------------------------------- idle RSS
phase "idle RSS"
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo nan; }
sleep 2
rss_d=nan rss_idle_conns_d=nan
((daemon_ok)) && rss_d=$(rss_kib "$daemon_pid")
rss_r=$(rss_kib "$ref_pid")
if ((daemon_ok)); then  # informational: RSS while 100 idle project connections are open
  coproc idle { "$load" --socket "$project_sock" --connect-only 100 --hold 30; }
  # shellcheck disable=SC2154  # idle_PID is set by coproc
  idle_pid=$idle_PID
  if read -r -t 10 _ <&"${idle[0]}"; then
    sleep 0.5
    rss_idle_conns_d=$(rss_kib "$daemon_pid")
  fi
  stop_pid "$idle_pid"
  idle_pid=
fi

audit_lines=n/a
((daemon_ok)) && audit_lines=$(wc -l <"$sandbox/log/audit.log" 2>/dev/null || echo 0)

# ---------------------------------------------------------------- binary size
strip_size() { cp "$1" "$work/stripped" && strip "$work/stripped" && stat -c %s "$work/stripped"; }
size_d=nan
((daemon_built)) && [[ -x $broker ]] && size_d=$(strip_size "$broker")
size_r=$(strip_size "$ref_server")

# ---------------------------------------------------------------- report
phase "done"
m_lat_d=$(median "${lat_d[@]}") m_lat_r=$(median "${lat_r[@]}")
m_lat99_d=$(median "${lat99_d[@]}") m_lat99_r=$(median "${lat99_r[@]}")
m_tput_d=$(median "${tput_d[@]}") m_tput_r=$(median "${tput_r[@]}")
m_ready_d=$(median "${ready_d[@]}") m_ready_r=$(median "${ready_r[@]}")
m_push_d=$(median "${push_d[@]}") m_push_r=$(median "${push_r[@]}")

is_num() { [[ $1 =~ ^[0-9.e+-]+$ ]]; }
ratio() { if is_num "$1" && is_num "$2"; then calc "$1 / $2" 2; else echo n/a; fi; }
verdict() {  # verdict VALUE OP LIMIT
  is_num "$1" || { echo n/a; return; }
  if awk "BEGIN {exit !($1 $2 $3)}"; then echo PASS; else echo FAIL; fi
}
fmt() { if is_num "$1"; then calc "$1" "${2:-1}"; else echo n/a; fi; }
per_1024() { if is_num "$1"; then calc "$1 / 1024" 2; else echo n/a; fi; }

r_lat=$(ratio "$m_lat_d" "$m_lat_r")
r_tput=$(ratio "$m_tput_d" "$m_tput_r")
v_lat=$(verdict "$r_lat" '<=' 1.5)
v_tput=$(verdict "$r_tput" '>=' 0.8)
if ((errors_d > 0)); then
  v_lat="INVALID ($errors_d ok:false replies)"
  v_tput=$v_lat
fi
push_ms_d=n/a push_ms_r=n/a
is_num "$m_push_d" && push_ms_d=$(calc "$m_push_d / 1000" 3)
is_num "$m_push_r" && push_ms_r=$(calc "$m_push_r / 1000" 3)
v_push=$(verdict "$push_ms_d" '<' 2)
((errors_push > 0)) && v_push="INVALID ($errors_push ok:false replies)"
rss_mib_d=$(per_1024 "$rss_d")

rows=(
  "get p50 latency, 1 connection (us)|$(fmt "$m_lat_d")|$(fmt "$m_lat_r")|$r_lat|<= 1.5x|$v_lat"
  "get throughput, 16 connections, audit on (req/s)|$(fmt "$m_tput_d" 0)|$(fmt "$m_tput_r" 0)|$r_tput|>= 0.8x|$v_tput"
  "start to READY, 100-secret bundle (ms)|$(fmt "$m_ready_d" 2)|$(fmt "$m_ready_r" 2)|$(ratio "$m_ready_d" "$m_ready_r")|< 20 ms|$(verdict "$m_ready_d" '<' 20)"
  "idle RSS after load (MiB)|$rss_mib_d|$(per_1024 "$rss_r")|$(ratio "$rss_d" "$rss_r")|< 6 MiB|$(verdict "$rss_mib_d" '<' 6)"
  "push-creds p50, $((bundle_bytes / 1024)) KiB bundle (ms)|$push_ms_d|$push_ms_r|$(ratio "$m_push_d" "$m_push_r")|< 2 ms|$v_push"
  "stripped binary size (KiB)|$(per_1024 "$size_d")|$(per_1024 "$size_r")|$(ratio "$size_d" "$size_r")|report|-"
  "get p99 latency, 1 connection (us)|$(fmt "$m_lat99_d")|$(fmt "$m_lat99_r")|$(ratio "$m_lat99_d" "$m_lat99_r")|info|-"
  "RSS with 100 idle connections (MiB)|$(per_1024 "$rss_idle_conns_d")|-|-|info|-"
  "disk floor: write+fsync+rename+fsync dir, $((bundle_bytes / 1024)) KiB (ms)|-|$(fmt "$floor_ms" 3)|-|info|-"
)

echo
echo "remo-broker vs reference (dev/bench/epoll_line_server: 1 thread, level-triggered epoll, fixed reply)"
echo "$(nproc) CPUs, $(uname -r), build $build_dir ($build_type), medians of $rounds interleaved rounds"
echo "(start to READY: $ready_runs runs each, daemon via ${ready_via:-n/a}; push-creds: 3 x $pushes pushes of $bundle_bytes bytes,"
echo " reference = the same line to the echo server; daemon audit.log lines after the run: $audit_lines)"
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
