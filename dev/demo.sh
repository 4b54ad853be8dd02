#!/usr/bin/env bash
# The whole remo-broker story in a throwaway sandbox directory; no root paths are touched (except sshd's
# own privilege separation directory /run/sshd, which the openssh-server package normally creates).
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
sshd_pid=
cleanup() {
  [[ -n $sshd_pid ]] && kill "$sshd_pid" 2>/dev/null && wait "$sshd_pid" 2>/dev/null
  [[ -n $daemon_pid ]] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
  rm -rf "$sandbox"
}
trap cleanup EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

# The instance's admin socket and the devcontainer's project socket, as the CLI finds them.
export REMO_BROKER_ADMIN_SOCKET=$sandbox/run/admin.sock
export XDG_CONFIG_HOME=$sandbox/laptop/config # the laptop's known_instances pins live here

step "1. Keys: remo-brokerctl writes identity files that the age CLI reads, and the other way round"
mkdir -p "$sandbox/credentials" "$sandbox/laptop"
run "$ctl" keygen -o "$sandbox/credentials/bootstrap-key"
recipient=$("$ctl" recipient -i "$sandbox/credentials/bootstrap-key")
printf 'hello from remo-broker\n' | "$ctl" encrypt -r "$recipient" -o "$sandbox/laptop/note.age"
run age -d -i "$sandbox/credentials/bootstrap-key" "$sandbox/laptop/note.age"

step "2. Start the broker in the sandbox"
"$broker" --sandbox "$sandbox" >"$sandbox/broker.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 100); do [[ -S $sandbox/run/admin.sock ]] && break; sleep 0.05; done
run "$ctl" admin status

step "3. Laptop: push a bundle through the CLI (encrypted locally, ciphertext on ssh's stdin)"
cat >"$sandbox/laptop/secrets.toml" <<'TOML'
GITHUB_TOKEN = "ghp_demo_value_1234"
NPM_TOKEN = "npm_demo_value_5678"
TOML
# A throwaway sshd on 127.0.0.1 stands in for the instance when this machine can run one.
ssh_ready=
if [[ $(id -u) -eq 0 && -x /usr/sbin/sshd ]] && command -v ssh >/dev/null; then
  ssh_dir=$sandbox/sshd
  mkdir -p "$ssh_dir" /run/sshd
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  ssh-keygen -q -t ed25519 -N '' -f "$ssh_dir/host_key"
  ssh-keygen -q -t ed25519 -N '' -f "$ssh_dir/user_key"
  cp "$ssh_dir/user_key.pub" "$ssh_dir/authorized_keys"
  echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$ssh_dir/host_key.pub")" >"$ssh_dir/known_hosts"
  cat >"$ssh_dir/sshd_config" <<CONF
Port $port
ListenAddress 127.0.0.1
HostKey $ssh_dir/host_key
PidFile $ssh_dir/sshd.pid
AuthorizedKeysFile $ssh_dir/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
SetEnv REMO_BROKER_ADMIN_SOCKET=$REMO_BROKER_ADMIN_SOCKET
CONF
  /usr/sbin/sshd -D -e -f "$ssh_dir/sshd_config" 2>"$ssh_dir/sshd.log" &
  sshd_pid=$!
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && ssh_ready=1 && break
    sleep 0.05
  done
fi
if [[ -n $ssh_ready ]]; then
  ssh_opts=(--ssh-option "Port=$port" --ssh-option "IdentityFile=$ssh_dir/user_key" --ssh-option IdentitiesOnly=yes
    --ssh-option "UserKnownHostsFile=$ssh_dir/known_hosts" --ssh-option StrictHostKeyChecking=yes
    --ssh-option BatchMode=yes --remote-command "$ctl")
  run "$ctl" push root@127.0.0.1 "${ssh_opts[@]}" --secrets "$sandbox/laptop/secrets.toml"
  echo "pinned: $(cat "$XDG_CONFIG_HOME/remo-broker/known_instances")"
  echo "what a changed bundle would do (--dry-run compares keyed digests, never values):"
  printf 'GITHUB_TOKEN = "ghp_rotated_value"\nPYPI_TOKEN = "pypi_demo"\n' |
    run "$ctl" push root@127.0.0.1 "${ssh_opts[@]}" --secrets - --dry-run
else
  echo "(no sshd here: the same two halves without ssh in between)"
  "$ctl" encrypt -r "$("$ctl" admin get-public-key)" "$sandbox/laptop/secrets.toml" | run "$ctl" admin push-creds
fi

step "4. Register a project whose manifest allows only GITHUB_TOKEN"
project=$sandbox/projects/myrepo
mkdir -p "$project/.devcontainer"
cat >"$project/.devcontainer/remo-broker.toml" <<'TOML'
schema_version = 1
[project]
name = "myrepo"
[allowlist]
secrets = ["GITHUB_TOKEN"]
TOML
run "$ctl" admin register myrepo "$project"

step "5. Inside the devcontainer: get, exec (value in the child's environment only), and a denial"
export REMO_BROKER_SOCKET=$sandbox/run/myrepo.sock # in a real devcontainer: /run/remo-broker/project.sock
run "$ctl" get GITHUB_TOKEN
run "$ctl" exec --env GITHUB_TOKEN=GH_TOKEN -- sh -c 'echo "the child sees a token of ${#GH_TOKEN} characters"'
run "$ctl" get NPM_TOKEN || echo "(exit $?: denied, and the attempt is audited)"

step "6. A one-shot secret for a worker: created by the admin, claimed exactly once"
if created=$(printf 'one-time-bootstrap-password' | "$ctl" admin claim-create myrepo --ttl 300 --json 2>"$sandbox/claim.err"); then
  token=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])' <<<"$created")
  echo "token handed to the worker out of band; the worker claims it (token from the environment, not argv):"
  REMO_CLAIM_TOKEN=$token run "$ctl" claim
  REMO_CLAIM_TOKEN=$token run "$ctl" claim || echo "(exit $?: a one-shot secret has no second life)"
  run "$ctl" admin claim-list
elif grep -q "not implemented" "$sandbox/claim.err"; then
  echo "(skipped: this broker version does not implement one-shot secrets yet)"
else
  cat "$sandbox/claim.err" >&2
  exit 1
fi

step "7. Status and the audit log: every access, allowed or denied, names but never values"
run "$ctl" admin status
sleep 0.3
run tail -n 5 "$sandbox/log/audit.log"

step "8. Stop cleanly (SIGTERM): secrets are wiped from memory, sockets removed"
kill -TERM "$daemon_pid"
wait "$daemon_pid" && echo "broker exited 0"
daemon_pid=
echo "only ciphertext on disk:"
ls -l "$sandbox/state"
echo "the plaintext values appear in no file the broker or the CLI wrote:"
! grep -r -l -e ghp_demo_value_1234 -e npm_demo_value_5678 -e one-time-bootstrap-password \
  "$sandbox/state" "$sandbox/log" "$sandbox/run" "$sandbox/broker.log" "$XDG_CONFIG_HOME" && echo "none"
