#!/usr/bin/env bash
# The whole remo-broker flow in a throwaway sandbox directory; no root paths are touched.
# Installs its Debian packages (as root), builds, then narrates each step.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
"$root/dev/deps.sh"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target remo-broker remo-brokerctl >/dev/null
ctl=$root/build/broker/remo-brokerctl
broker=$root/build/broker/remo-broker

sandbox=$(mktemp -d "${TMPDIR:-/tmp}/remo-demo.XXXXXX")
daemon_pid=
cleanup() {
  [[ -n $daemon_pid ]] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
  rm -rf "$sandbox"
}
trap cleanup EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "1. Keys: remo-brokerctl writes identity files that the age CLI reads, and the other way round"
mkdir -p "$sandbox/credentials" "$sandbox/laptop"
run "$ctl" keygen -o "$sandbox/credentials/bootstrap-key"
recipient=$("$ctl" recipient -i "$sandbox/credentials/bootstrap-key")
age-keygen -o "$sandbox/laptop/age-key.txt" 2>/dev/null
echo "instance recipient: $recipient"

step "2. Crypto round trips and interop with age $(age --version)"
printf 'hello from remo-broker\n' >"$sandbox/laptop/note.txt"
run "$ctl" encrypt -r "$recipient" -o "$sandbox/laptop/note.age" "$sandbox/laptop/note.txt"
run age -d -i "$sandbox/credentials/bootstrap-key" "$sandbox/laptop/note.age"
age -r "$recipient" -a -o "$sandbox/laptop/note.armored.age" "$sandbox/laptop/note.txt"
run "$ctl" decrypt -i "$sandbox/credentials/bootstrap-key" "$sandbox/laptop/note.armored.age"
echo "tampering with one byte of the payload:"
cp "$sandbox/laptop/note.age" "$sandbox/laptop/tampered.age"
printf '\x00' | dd of="$sandbox/laptop/tampered.age" bs=1 seek=$(($(stat -c %s "$sandbox/laptop/tampered.age") - 3)) conv=notrunc 2>/dev/null
run "$ctl" decrypt -i "$sandbox/credentials/bootstrap-key" "$sandbox/laptop/tampered.age" || echo "(exit $?, and no plaintext was written)"

step "3. Start the broker in the sandbox"
"$broker" --sandbox "$sandbox" >"$sandbox/broker.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 100); do [[ -S $sandbox/run/admin.sock ]] && break; sleep 0.05; done
admin() { printf '%s\n' "$1" | socat -t 5 - "UNIX-CONNECT:$sandbox/run/admin.sock"; }
run admin '{"op":"status"}'

step "4. Laptop side: a bundle encrypted with the age CLI to the instance recipient, pushed over the admin socket"
cat >"$sandbox/laptop/secrets.toml" <<'TOML'
GITHUB_TOKEN = "ghp_demo_value_1234"
NPM_TOKEN = "npm_demo_value_5678"
TOML
ciphertext_b64=$(age -r "$recipient" "$sandbox/laptop/secrets.toml" | base64 -w0)
run admin "{\"op\":\"push-creds\",\"ciphertext_b64\":\"$ciphertext_b64\"}"

step "5. Register a project whose manifest allows only GITHUB_TOKEN"
project=$sandbox/projects/myrepo
mkdir -p "$project/.devcontainer"
cat >"$project/.devcontainer/remo-broker.toml" <<'TOML'
schema_version = 1
[project]
name = "myrepo"
[allowlist]
secrets = ["GITHUB_TOKEN"]
TOML
run admin "{\"op\":\"register\",\"name\":\"myrepo\",\"project_path\":\"$project\"}"

step "6. Inside the devcontainer: read the allowed secret with nc -U, then try one that is not allowed"
run sh -c "printf '{\"op\":\"get\",\"name\":\"GITHUB_TOKEN\"}\n' | nc -U -q1 '$sandbox/run/myrepo.sock'"
run sh -c "printf '{\"op\":\"get\",\"name\":\"NPM_TOKEN\"}\n' | nc -U -q1 '$sandbox/run/myrepo.sock'"

step "7. The audit log: every access, allowed or denied, names but never values"
sleep 0.3
run tail -n 3 "$sandbox/log/audit.log"

step "8. Stop cleanly (SIGTERM): secrets are wiped from memory, sockets removed"
kill -TERM "$daemon_pid"
wait "$daemon_pid" && echo "broker exited 0"
daemon_pid=
ls "$sandbox/run"
echo "only ciphertext on disk:"; ls -l "$sandbox/state"
echo "the plaintext values appear in no file the broker wrote:"
! grep -r -l -e ghp_demo_value_1234 -e npm_demo_value_5678 "$sandbox/state" "$sandbox/log" "$sandbox/run" "$sandbox/broker.log" && echo "none"
