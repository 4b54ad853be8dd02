#!/usr/bin/env bash
# End-to-end test of remo-broker as users run it: a Debian 12 root (debootstrap, cached), booted with
# systemd-nspawn --boot (the real systemd as PID 1), the .deb installed with apt-get, the Ansible role run
# over SSH, the fleet playbook pushing a bundle, then checks against the real systemd and the real sockets.
#
#   dev/e2e-nspawn.sh [BUILD_DIR]        (root; BUILD_DIR defaults to build/, built by dev/test.sh)
#
# The root is cached in $REMO_E2E_ROOT (default /var/cache/remo-broker/e2e-root) and booted with
# --volatile=overlay, so every run starts from the same clean system and the cache is never written.
# Every process and mount this script makes is ended by pid in the EXIT trap, also on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
build=${1:-build}
root_cache=${REMO_E2E_ROOT:-/var/cache/remo-broker/e2e-root}
machine=remo-e2e-$$
canary=CANARY-7c1e9a54d2b8-do-not-leak  # tests/integration/harness.py's CANARY: searched for in every output

[[ $(id -u) -eq 0 ]] || { echo "e2e-nspawn: run as root (debootstrap, systemd-nspawn)" >&2; exit 1; }
for tool in debootstrap systemd-nspawn nsenter ansible-playbook ssh ssh-keygen cpack; do
  command -v "$tool" >/dev/null || { echo "e2e-nspawn: $tool is missing (dev/deps.sh installs it)" >&2; exit 1; }
done

# --- timings and checks ----------------------------------------------------------------------------------
started=$(date +%s.%N)
phase_started=$started
timings=()
phase() {  # ends the current phase, names the next
  local now
  now=$(date +%s.%N)
  if [[ -n ${current_phase:-} ]]; then
    timings+=("$(printf '%-36s %6.1f s' "$current_phase" "$(echo "$now - $phase_started" | bc)")")
    echo "   (${timings[-1]})"
  fi
  current_phase=$1
  phase_started=$now
  echo "== e2e: $1"
}
checks=0
pass() {
  checks=$((checks + 1))
  echo "   ok  $*"
}
fail() {
  echo "   FAIL $*" >&2
  exit 1
}

# --- clean-up, by pid, whatever happens --------------------------------------------------------------------
work=$(mktemp -d /tmp/remo-e2e.XXXXXX)
nspawn_pid=
leader=
http_pid=
# Powers the current container off (the broker wipes its secrets), escalating to SIGTERM, then SIGKILL of
# systemd-nspawn itself; waits for it to exit. nspawn unmounts what it mounted as it exits.
stop_container() {
  [[ -n $nspawn_pid ]] || return 0
  if kill -0 "$nspawn_pid" 2>/dev/null; then
    [[ -n $leader ]] && nsenter -t "$leader" -a systemctl poweroff --no-block >/dev/null 2>&1
    # A loaded machine can take a while to power a container off: 30 s before each escalation.
    for signal in none TERM KILL; do
      [[ $signal != none ]] && kill -"$signal" "$nspawn_pid" 2>/dev/null
      for _ in $(seq 300); do kill -0 "$nspawn_pid" 2>/dev/null || break 2; sleep 0.1; done
    done
  fi
  wait "$nspawn_pid" 2>/dev/null || true  # its exit status says how it ended, which does not matter here
  nspawn_pid=
  leader=
}
# Unmounts every mount below DIR, deepest first.
unmount_under() {
  findmnt -rn -o TARGET | grep "^$1/" | sort -r | while read -r target; do umount "$target"; done
}
cleanup() {
  local status=$?
  set +e
  stop_container
  if [[ -n ${partial:-} && -d $partial && ! -e $root_cache ]]; then
    unmount_under "$partial"
    rm -rf --one-file-system "$partial"
  fi
  if [[ -n $http_pid ]]; then kill "$http_pid" 2>/dev/null; wait "$http_pid" 2>/dev/null; fi
  if findmnt -rn -o TARGET | grep -q -e "$machine" -e "$root_cache"; then
    echo "e2e-nspawn: mounts left behind:" >&2
    findmnt -rn -o TARGET | grep -e "$machine" -e "$root_cache" >&2
    status=1
  fi
  rm -rf "$work"
  ((status == 0)) || echo "e2e-nspawn: FAILED (see above)" >&2
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Boots the cached root with a fresh tmpfs overlay (the cache itself is never written) and waits for
# systemd inside to finish booting.
boot_container() {
  systemd-nspawn -D "$root_cache" --volatile=overlay --boot --register=no --keep-unit --machine="$machine" \
    --console=pipe --resolv-conf=copy-host >"$work/console.log" 2>&1 &
  nspawn_pid=$!
  for _ in $(seq 200); do
    leader=$(pgrep -P "$nspawn_pid" || true)
    [[ -n $leader ]] && [[ $(cat "/proc/$leader/comm" 2>/dev/null) == systemd ]] && break
    kill -0 "$nspawn_pid" 2>/dev/null || { cat "$work/console.log" >&2; fail "systemd-nspawn exited"; }
    sleep 0.1
  done
  [[ -n $leader ]] || fail "no container init under systemd-nspawn pid $nspawn_pid"
  # systemctl answers once systemd's private socket exists; then --wait blocks until boot finishes.
  state=
  for _ in $(seq 300); do
    state=$(inside timeout 60 systemctl is-system-running --wait 2>/dev/null || true)
    [[ $state == running || $state == degraded ]] && break
    sleep 0.1
  done
  [[ $state == running || $state == degraded ]] || fail "container systemd state: $state"
  pass "systemd is PID 1 in $machine (leader pid $leader, state $state)"
}

# Lets the controller in as root over SSH with no network port: sshd in inetd mode (-i), started inside the
# container's namespaces by nsenter as ssh's ProxyCommand.
enable_ssh() {
  inside sh -c 'mkdir -p -m 0700 /root/.ssh /run/sshd && cat > /root/.ssh/authorized_keys' <"$work/id_ed25519.pub"
  cat >"$work/inventory.ini" <<EOF
[remo_brokers]
e2e ansible_host=$machine ansible_user=root ansible_ssh_private_key_file=$work/id_ed25519 ansible_python_interpreter=/usr/bin/python3 ansible_ssh_common_args='-o ProxyCommand="nsenter -t $leader -a /usr/sbin/sshd -i" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR'
EOF
}

# Runs a command inside the booted container (all of its namespaces), as root.
inside() { nsenter -t "$leader" -a "$@"; }

# --- the package ---------------------------------------------------------------------------------------------
phase "package (cpack -G DEB)"
[[ -x $build/broker/remo-broker ]] || { echo "e2e-nspawn: build $build first (dev/test.sh)" >&2; exit 1; }
(cd "$build" && cpack -G DEB -B "$work/package" >/dev/null)
deb=$(ls "$work"/package/remo-broker_*.deb)
deb_sha256=$(sha256sum "$deb" | cut -d' ' -f1)
pass "built $(basename "$deb")"

# --- the Debian 12 root ----------------------------------------------------------------------------------
if [[ -d $root_cache ]]; then
  phase "debootstrap (cached)"
  pass "reusing $root_cache"
else
  phase "debootstrap (cold)"
  mkdir -p "$(dirname "$root_cache")"
  # The mirror sometimes drops a download; three attempts before calling it a failure. Each attempt builds a
  # root of its own, and a failed one is unmounted (debootstrap leaves /proc mounted in it) before removal.
  for attempt in 1 2 3; do
    partial="$root_cache.partial.$$.$attempt"
    debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,python3,openssh-server,ca-certificates \
      bookworm "$partial" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 && break
    tail -3 "$work/debootstrap.log" >&2
    unmount_under "$partial"
    rm -rf --one-file-system "$partial"
    ((attempt < 3)) || fail "debootstrap failed 3 times"
    sleep 10
  done
  mv "$partial" "$root_cache"
  pass "debootstrapped $root_cache"
fi

# --- boot ------------------------------------------------------------------------------------------------
phase "boot (systemd-nspawn --boot)"
boot_container

# --- the package, installed the way the README says ----------------------------------------------------------
phase "apt-get install ./remo-broker_*.deb"
cp "$deb" "/proc/$leader/root/root/"
inside sh -c "cd /root && apt-get update -qq && apt-get install -y -qq ./$(basename "$deb")" >"$work/apt.log" 2>&1 ||
  { tail -20 "$work/apt.log" >&2; fail "apt-get install"; }
inside id remo-broker >/dev/null || fail "sysusers did not create remo-broker"
[[ $(inside stat -c '%U %a' /var/lib/remo-broker) == "remo-broker 700" ]] || fail "tmpfiles: /var/lib/remo-broker"
pass "installed on a clean Debian 12; postinst created user remo-broker and its directories"

# --- SSH into the container, without a network port: sshd in inetd mode inside its namespaces ----------------
phase "ssh and the test accounts"
ssh-keygen -q -t ed25519 -N '' -f "$work/id_ed25519"
enable_ssh
# dev (uid 1000) owns the project; intruder (uid 1001) shares its group but is not in the project's uids.
inside sh -c 'groupadd -g 1000 dev && useradd -u 1000 -g dev -m dev && useradd -u 1001 -G dev -m intruder
  mkdir -p /srv/projects/demo/.devcontainer
  printf "schema_version = 1\n[project]\nname = \"demo\"\n[allowlist]\nsecrets = [\"E2E_TOKEN\"]\n" \
    > /srv/projects/demo/.devcontainer/remo-broker.toml
  chown -R dev:dev /srv/projects/demo && chmod -R g+rX,o-rwx /srv/projects/demo'
ssh_e2e() {
  ssh -i "$work/id_ed25519" -o ProxyCommand="nsenter -t $leader -a /usr/sbin/sshd -i" \
    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR "root@$machine" "$@"
}
[[ $(ssh_e2e id -u) == 0 ]] || fail "ssh into the container"
pass "ssh root@$machine works (sshd -i through nsenter)"

# --- the role ----------------------------------------------------------------------------------------------
mkdir -p "$work/recipients" "$work/bundles"
cat >"$work/vars.json" <<EOF
{"remo_broker_deb_path": "$deb", "remo_broker_deb_sha256": "$deb_sha256",
 "remo_broker_recipients_dir": "$work/recipients",
 "remo_broker_projects": [{"name": "demo", "path": "/srv/projects/demo", "uids": [1000], "group": "dev"}]}
EOF
export ANSIBLE_ROLES_PATH=$repo/ansible/roles ANSIBLE_NOCOLOR=1 ANSIBLE_HOST_KEY_CHECKING=False ANSIBLE_PIPELINING=True
run_role() {
  ansible-playbook -i "$work/inventory.ini" "$repo/ansible/install.yml" -e "@$work/vars.json" >"$work/role-$1.log" 2>&1 ||
    { tail -40 "$work/role-$1.log" >&2; fail "role run $1"; }
  grep -E '^e2e +:' "$work/role-$1.log"
}
phase "ansible role (first run)"
recap=$(run_role 1)
[[ $recap =~ failed=0 ]] || fail "role: $recap"
pass "role: $recap"
phase "ansible role (second run)"
recap=$(run_role 2)
if ! [[ $recap =~ changed=0 && $recap =~ failed=0 ]]; then fail "role is not idempotent: $recap"; fi
pass "second run: $recap"
# Convergence: a project added, registered again when its uids differ, then removed with state: absent.
inside sh -c 'mkdir -p /srv/projects/scratch/.devcontainer
  printf "schema_version = 1\n[project]\nname = \"scratch\"\n[allowlist]\nsecrets = []\n" \
    > /srv/projects/scratch/.devcontainer/remo-broker.toml'
converge_role() {  # $1: run label, $2: the scratch project's entry
  jq --argjson scratch "$2" '.remo_broker_projects += [$scratch]' "$work/vars.json" >"$work/vars-$1.json"
  ansible-playbook -i "$work/inventory.ini" "$repo/ansible/install.yml" -e "@$work/vars-$1.json" >"$work/role-$1.log" 2>&1 ||
    { tail -40 "$work/role-$1.log" >&2; fail "role run $1"; }
  grep -E '^e2e +:' "$work/role-$1.log"
}
scratch_uids() { inside remo-brokerctl admin status --json | jq -c '[.projects[] | select(.name == "scratch") | .uids]'; }
phase "ansible role (projects converge)"
[[ $(converge_role add '{"name": "scratch", "path": "/srv/projects/scratch", "uids": [1000]}') =~ changed=1 ]] ||
  fail "the role did not register a new project"
[[ $(scratch_uids) == '[[1000]]' ]] || fail "scratch registered with uids $(scratch_uids)"
[[ $(converge_role uids '{"name": "scratch", "path": "/srv/projects/scratch", "uids": [1001]}') =~ changed=1 ]] ||
  fail "the role did not register again a project whose uids differ"
[[ $(scratch_uids) == '[[1001]]' ]] || fail "scratch has uids $(scratch_uids) after the role"
[[ $(converge_role uids2 '{"name": "scratch", "path": "/srv/projects/scratch", "uids": [1001]}') =~ changed=0 ]] ||
  fail "the role changed a project that matches the inventory"
[[ $(converge_role absent '{"name": "scratch", "state": "absent"}') =~ changed=1 ]] ||
  fail "the role did not remove a project with state: absent"
[[ $(scratch_uids) == '[]' ]] || fail "scratch is still registered"
[[ $(converge_role absent2 '{"name": "scratch", "state": "absent"}') =~ changed=0 ]] ||
  fail "removing an absent project again changed something"
pass "projects converge: added, registered again on other uids, removed; second runs change nothing"
zeros=0000000000000000000000000000000000000000000000000000000000000000
if ansible-playbook -i "$work/inventory.ini" "$repo/ansible/install.yml" -e "@$work/vars.json" \
  -e remo_broker_deb_sha256=$zeros >"$work/role-bad-sha.log" 2>&1; then fail "the role installed a package whose SHA-256 differs"; fi
grep -q "has SHA-256 $deb_sha256, expected $zeros" "$work/role-bad-sha.log" || fail "no clear SHA-256 refusal"
pass "a package with another SHA-256 is refused by name"
recipient=$(cat "$work/recipients/e2e.recipient")
[[ $recipient == age1* ]] || fail "no pinned recipient"
pass "recipient pinned on the controller: $recipient"

# --- systemd's view --------------------------------------------------------------------------------------
phase "unit, credential, hardening"
show() { inside systemctl show -p "$1" --value remo-broker.service; }
[[ $(show ActiveState)/$(show SubState) == active/running ]] || fail "unit is $(show ActiveState)/$(show SubState)"
[[ $(show Type) == notify ]] || fail "Type=$(show Type)"
# A Type=notify unit is active only after READY=1; STATUS= is the daemon's own sentence.
[[ $(show StatusText) == serving* ]] || fail "StatusText '$(show StatusText)'"
pass "active (running), Type=notify, READY reached: \"$(show StatusText)\""
main_pid=$(show MainPID)
[[ $(inside stat -c %U "/proc/$main_pid") == remo-broker ]] || fail "daemon does not run as remo-broker"
proc_status=$(inside cat "/proc/$main_pid/status")
grep -q '^CapEff:\s*0000000000000000' <<<"$proc_status" || fail "daemon has capabilities"
grep -q '^NoNewPrivs:\s*1' <<<"$proc_status" || fail "NoNewPrivs is off"
grep -q '^Seccomp:\s*2' <<<"$proc_status" || fail "no seccomp filter"
pass "pid $main_pid: user remo-broker, no capabilities, NoNewPrivs, seccomp filter"
admin() { inside /usr/libexec/remo-broker/remo-broker-admin "$@"; }
key_source=$(admin status | python3 -c 'import json,sys; print(json.load(sys.stdin)["decryption_key_source"])')
[[ $key_source == credentials-directory:host || $key_source == credentials-directory:tpm2 ]] ||
  fail "decryption_key_source $key_source"
inside systemctl cat remo-broker.service | grep -qx 'LoadCredentialEncrypted=bootstrap-key:/etc/credstore.encrypted/bootstrap-key' ||
  fail "the unit does not load the sealed credential"
# The key the daemon runs with is the one systemd decrypted into the unit's credentials directory.
[[ $(inside remo-brokerctl recipient -i /run/credentials/remo-broker.service/bootstrap-key) == "$recipient" ]] ||
  fail "the credential systemd loaded is not the key the broker reports"
inside test ! -e /etc/credstore/bootstrap-key || fail "a plaintext key exists beside the sealed one"
if inside grep -q AGE-SECRET-KEY /etc/credstore.encrypted/bootstrap-key; then fail "the sealed file holds a plaintext key"; fi
pass "key via LoadCredentialEncrypted from /etc/credstore.encrypted (status: $key_source), no plaintext copy"
inside systemd-analyze verify remo-broker.service >"$work/verify.log" 2>&1 || { cat "$work/verify.log" >&2; fail "verify"; }
[[ ! -s $work/verify.log ]] || { cat "$work/verify.log" >&2; fail "systemd-analyze verify printed warnings"; }
pass "systemd-analyze verify: clean"
exposure=$(inside systemd-analyze security remo-broker.service --no-pager 2>/dev/null |
  sed -n 's/.*Overall exposure level for remo-broker.service: \([0-9.]*\).*/\1/p')
if [[ -z $exposure ]] || (($(echo "$exposure > 1.0" | bc))); then
  fail "systemd-analyze security exposure ${exposure:-?} > 1.0"
fi
pass "systemd-analyze security exposure $exposure (<= 1.0)"

# --- a bundle from the laptop, over SSH, with the fleet playbook -----------------------------------------
phase "push a bundle (fleet playbook)"
printf 'E2E_TOKEN = "%s"\nOTHER_SECRET = "other-%s"\n' "$canary" "$canary" >"$work/bundles/e2e.toml"
ansible-playbook -i "$work/inventory.ini" "$repo/ansible/push-bundles.yml" -e "remo_broker_recipients_dir=$work/recipients" \
  -e "remo_broker_bundles_dir=$work/bundles" -e "remo_broker_brokerctl=$repo/$build/broker/remo-brokerctl" \
  >"$work/push.log" 2>&1 || { tail -30 "$work/push.log" >&2; fail "push-bundles.yml"; }
grep -q '2 secrets loaded' "$work/push.log" || fail "push did not load 2 secrets"
pass "push-bundles.yml: encrypted to the pinned recipient on the controller, pushed over ssh, 2 secrets loaded"

# --- the project socket, as the devcontainer's uid ---------------------------------------------------------
phase "project socket, denial, refusal"
# One request on the project socket as USER; prints the reply line.
ask() {
  inside runuser -u "$1" -- python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect("/run/remo-broker/demo.sock")
try:
    s.sendall(sys.argv[1].encode() + b"\n")
except BrokenPipeError:
    pass  # a refused peer is answered and closed before it gets to send; the reply is still there to read
print(s.makefile().readline().strip())' "$2"
}
[[ $(inside stat -c '%G %a' /run/remo-broker/demo.sock) == "dev 660" ]] || fail "demo.sock is not dev 0660"
reply=$(ask dev '{"op":"get","name":"E2E_TOKEN"}')
[[ $reply == *"\"value\":\"$canary\""* ]] || fail "dev did not get E2E_TOKEN: ${reply//$canary/<canary>}"
pass "uid 1000 (dev) reads E2E_TOKEN on /run/remo-broker/demo.sock"
reply=$(ask dev '{"op":"get","name":"OTHER_SECRET"}')
[[ $reply == *'"code":"denied"'* ]] || fail "OTHER_SECRET was not denied: ${reply//$canary/<canary>}"
audit=$(inside cat /var/log/remo-broker/audit.log)
grep '"OTHER_SECRET"' <<<"$audit" | grep -q 'denied' || fail "the denial is not in the audit log"
pass "OTHER_SECRET (not in the allowlist) denied and audited"
reply=$(ask intruder '{"op":"get","name":"E2E_TOKEN"}' || true)
[[ $reply == *'"code":"peer_unexpected"'* ]] || fail "uid 1001 was not refused: ${reply//$canary/<canary>}"
inside grep -q '"uid":1001' /var/log/remo-broker/audit.log || fail "the refusal of uid 1001 is not audited"
pass "uid 1001 (in group dev, not in uids) refused with peer_unexpected and audited"

# --- restart keeps secrets and registrations ---------------------------------------------------------------
phase "restart"
inside systemctl restart remo-broker.service
[[ $(show ActiveState) == active ]] || fail "not active after restart"
reply=$(ask dev '{"op":"get","name":"E2E_TOKEN"}')
[[ $reply == *"\"value\":\"$canary\""* ]] || fail "E2E_TOKEN lost across a restart"
admin has-project demo || fail "registration lost across a restart"
pass "after systemctl restart: demo still registered, E2E_TOKEN still served"

# --- the audit log rotates inside the sandboxed unit; the admin socket has a directory of its own --------------
phase "audit rotation, admin socket directory"
inside sh -c 'mkdir -p /etc/remo-broker && printf "audit_rotate_bytes = 4096\naudit_keep_files = 2\n" >/etc/remo-broker/config.toml'
inside systemctl restart remo-broker.service
[[ $(show ActiveState) == active ]] || fail "not active with a rotating audit log"
# 150 gets on one connection (within the default burst of 200): about 30 KiB of audit lines, 4 KiB per file.
served=$(inside runuser -u dev -- python3 -c '
import json, socket
s = socket.socket(socket.AF_UNIX); s.connect("/run/remo-broker/demo.sock")
s.sendall(b"".join(b"{\"op\":\"get\",\"name\":\"E2E_TOKEN\"}\n" for _ in range(150)))
replies = s.makefile()
print(sum(1 for _ in range(150) if json.loads(replies.readline()).get("ok")))')
((served == 150)) || fail "only $served of 150 gets served"
inside systemctl stop remo-broker.service  # stopping writes what is queued
logged=$(inside sh -c 'cat /var/log/remo-broker/audit.log*' | grep -c '"decision":"allow","event":"secret.get".*"secret":"E2E_TOKEN"' || true)
inside test -e /var/log/remo-broker/audit.log.1 || fail "the audit log did not rotate"
inside test ! -e /var/log/remo-broker/audit.log.3 || fail "more rotated files than audit_keep_files"
bytes=$(inside sh -c 'cat /var/log/remo-broker/audit.log* | wc -c')
((bytes <= 3 * 4096 + 4096)) || fail "the audit directory holds $bytes bytes, over (keep+1) x rotate"
((logged > 0)) || fail "no get line in the kept audit files"
pass "audit.log rotated at 4 KiB, 2 files kept ($bytes bytes, $logged of the 150 get lines in them)"
inside rm -f /etc/remo-broker/config.toml
inside systemctl start remo-broker.service
[[ $(inside stat -c '%U %a' /run/remo-broker-admin) == "remo-broker 700" ]] || fail "/run/remo-broker-admin is not remo-broker 0700"
inside test -S /run/remo-broker-admin/admin.sock || fail "no admin socket in /run/remo-broker-admin"
inside test -L /run/remo-broker/admin.sock || fail "/run/remo-broker/admin.sock is not the compatibility link"
admin status >/dev/null || fail "admin status through the default path"
pass "admin socket in /run/remo-broker-admin (remo-broker 0700), the old path a link to it"

# --- the key ladder: bad input, the plaintext opt-in and back, rotation through the unit's own paths ------------
phase "key ladder and rotation"
key_source() { admin status | python3 -c 'import json,sys; print(json.load(sys.stdin)["decryption_key_source"])'; }
live_recipient() { admin get-public-key | python3 -c 'import json,sys; print(json.load(sys.stdin)["recipient"])'; }
sealed_sum=$(inside sha256sum /etc/credstore.encrypted/bootstrap-key)
if out=$(inside remo-broker-seal-key --tier bogus 2>&1); then fail "seal-key accepted --tier bogus"; fi
[[ $out == *"unknown tier 'bogus'"* ]] || fail "seal-key --tier bogus said: $out"
if inside systemd-creds has-tpm2 >/dev/null 2>&1; then
  pass "seal-key refuses an unknown tier (this host has a TPM2: the tpm2 refusal is not exercised)"
else
  if out=$(inside remo-broker-seal-key --tier tpm2 2>&1); then fail "seal-key sealed to a TPM2 that is not there"; fi
  [[ $out == *"finds no usable TPM2"* ]] || fail "seal-key --tier tpm2 without a TPM said: $out"
  pass "seal-key refuses an unknown tier, and --tier tpm2 on a host without a TPM2, by name"
fi
[[ $(inside sha256sum /etc/credstore.encrypted/bootstrap-key) == "$sealed_sum" ]] || fail "a refused seal-key changed the key"
inside remo-broker-seal-key --tier plaintext >/dev/null
inside systemctl restart remo-broker.service
[[ $(key_source) == credentials-directory:plaintext ]] || fail "plaintext tier: status says $(key_source)"
[[ $(inside stat -c '%U %a' /etc/credstore/bootstrap-key) == "root 600" ]] || fail "plaintext key is not root 0600"
inside test ! -e /etc/credstore.encrypted/bootstrap-key || fail "the sealed copy stayed beside the plaintext one"
[[ $(live_recipient) == "$recipient" ]] || fail "moving tiers changed the key"
inside remo-broker-seal-key --tier host >/dev/null
inside systemctl restart remo-broker.service
[[ $(key_source) == credentials-directory:host ]] || fail "back to host tier: status says $(key_source)"
inside test ! -e /etc/credstore/bootstrap-key || fail "the plaintext key stayed after sealing"
[[ $(live_recipient) == "$recipient" ]] || fail "moving tiers changed the key"
pass "--tier plaintext (0600, status :plaintext) and back to host (sealed, plaintext removed), same key"
new_recipient=$(inside remo-brokerctl rotate --systemd-creds 2>"$work/rotate.log") ||
  { cat "$work/rotate.log" >&2; fail "remo-brokerctl rotate --systemd-creds"; }
[[ $new_recipient == age1* && $new_recipient != "$recipient" ]] || fail "rotate printed '$new_recipient'"
[[ $(live_recipient) == "$new_recipient" ]] || fail "the broker does not hold the rotated key"
inside systemctl restart remo-broker.service
[[ $(live_recipient) == "$new_recipient" ]] || fail "after a restart the unit loads another key than the rotated one"
reply=$(ask dev '{"op":"get","name":"E2E_TOKEN"}')
[[ $reply == *"\"value\":\"$canary\""* ]] || fail "E2E_TOKEN lost across the rotation"
pass "remo-brokerctl rotate --systemd-creds wrote the file the unit loads: new key survives a restart, secrets kept"
# The controller still pins the old recipient: the fleet playbook must refuse to encrypt to a key it did not check.
if ansible-playbook -i "$work/inventory.ini" "$repo/ansible/push-bundles.yml" -e "remo_broker_recipients_dir=$work/recipients" \
  -e "remo_broker_bundles_dir=$work/bundles" -e "remo_broker_brokerctl=$repo/$build/broker/remo-brokerctl" \
  >"$work/push-stale.log" 2>&1; then fail "push-bundles.yml pushed to a host whose recipient changed"; fi
grep -q "answers with recipient $new_recipient, pinned $recipient: not pushing" "$work/push-stale.log" ||
  fail "no clear refusal for a changed recipient"
pass "push-bundles.yml refuses a host whose recipient is not the pinned one"

# --- stop wipes and exits within the timeout ---------------------------------------------------------------
phase "stop"
stop_started=$(date +%s.%N)
inside systemctl stop remo-broker.service
stop_seconds=$(echo "$(date +%s.%N) - $stop_started" | bc)
timeout_usec=$(show TimeoutStopUSec)
[[ $(show Result) == success ]] || fail "stop result $(show Result)"
[[ $(show ExecMainStatus) == 0 ]] || fail "daemon exit status $(show ExecMainStatus)"
(($(echo "$stop_seconds < 15" | bc))) || fail "stop took $stop_seconds s (TimeoutStopSec $timeout_usec)"
inside journalctl -u remo-broker.service --no-pager -o cat >"$work/journal.log"
grep -q 'stopped; secrets wiped' "$work/journal.log" || fail "no 'secrets wiped' in the journal"
inside test ! -e /run/remo-broker/demo.sock || fail "demo.sock left behind"
pass "systemctl stop: exit 0 in $(printf '%.2f' "$stop_seconds") s (TimeoutStopSec $timeout_usec), secrets wiped, sockets removed"

# --- the canary is nowhere it must not be ----------------------------------------------------------------
phase "canary scan"
inside sh -c 'cat /var/log/remo-broker/audit.log*; journalctl --no-pager -o cat; cat /var/lib/remo-broker/* 2>/dev/null' \
  >"$work/instance-outputs.log"
for file in "$work"/instance-outputs.log "$work"/role-*.log "$work"/push*.log "$work"/journal.log "$work"/console.log; do
  if grep -q "$canary" "$file"; then fail "the canary secret appears in $(basename "$file")"; fi
done
pass "canary absent from audit log, journal, state files, console and ansible output"
# --- the other install method: binaries downloaded with their SHA-256 checked, on a second clean boot ------------
phase "binary install (second boot)"
stop_container
boot_container
enable_ssh
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$build/broker" "$port" >"$work/http.log" 2>&1 &
http_pid=$!
for _ in $(seq 50); do python3 -c "import socket; socket.create_connection(('127.0.0.1', $port))" 2>/dev/null && break; sleep 0.1; done
cat >"$work/vars-binary.json" <<EOF
{"remo_broker_install_method": "binary", "remo_broker_recipients_dir": "$work/recipients",
 "remo_broker_binary_url": "http://127.0.0.1:$port/remo-broker",
 "remo_broker_binary_sha256": "$(sha256sum "$build/broker/remo-broker" | cut -d' ' -f1)",
 "remo_broker_brokerctl_url": "http://127.0.0.1:$port/remo-brokerctl",
 "remo_broker_brokerctl_sha256": "$(sha256sum "$build/broker/remo-brokerctl" | cut -d' ' -f1)"}
EOF
run_binary_role() {
  ansible-playbook -i "$work/inventory.ini" "$repo/ansible/install.yml" -e "@$work/vars-binary.json" "${@:2}" >"$work/role-binary-$1.log" 2>&1
}
if run_binary_role bad -e remo_broker_binary_sha256=$zeros; then fail "the role installed a binary whose SHA-256 differs"; fi
grep -qi 'checksum' "$work/role-binary-bad.log" || fail "no clear checksum refusal for the binary"
inside test ! -e /usr/bin/remo-broker || fail "a binary with the wrong SHA-256 was left in /usr/bin"
pass "a binary with another SHA-256 is refused, and not installed"
run_binary_role 1 || { tail -30 "$work/role-binary-1.log" >&2; fail "binary role run 1"; }
run_binary_role 2 || { tail -30 "$work/role-binary-2.log" >&2; fail "binary role run 2"; }
recap=$(grep -E '^e2e +:' "$work/role-binary-2.log")
if ! [[ $recap =~ changed=0 && $recap =~ failed=0 ]]; then fail "binary install is not idempotent: $recap"; fi
[[ $(show ActiveState)/$(show SubState) == active/running ]] || fail "binary install: unit is $(show ActiveState)"
[[ $(key_source) == credentials-directory:host ]] || fail "binary install: key source $(key_source)"
[[ $(live_recipient) == "$(cat "$work/recipients/e2e.recipient")" ]] || fail "binary install: recipient not pinned"
[[ $(live_recipient) != "$new_recipient" ]] || fail "the second boot has the first one's key"
pass "binary install: unit active, key generated and sealed on this instance, recipient pinned, second run $recap"
for file in "$work"/role-binary-*.log; do
  if grep -q "$canary" "$file"; then fail "the canary secret appears in $(basename "$file")"; fi
done

phase "done"

echo
echo "== e2e timings"
printf '   %s\n' "${timings[@]}"
printf '   %-32s %6.1f s\n' total "$(echo "$(date +%s.%N) - $started" | bc)"
echo "== e2e: $checks checks passed"
