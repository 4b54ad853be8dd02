"""Hostile container, finding 4: memory under hostile load is bounded and handed back.

The attacker (the project's uid) opens many connections to its own socket and leaves a request line
unfinished on each. Everything it makes the broker hold for those half-lines must stay within one budget
shared by every socket (past it the broker closes the connections holding the most), a neighbouring
project must keep being served meanwhile, and once the attacker is gone the broker's idle RSS must be back
within 1 MiB of what it was before, within 5 s.
"""

import json
import os
import resource
import subprocess
import sys
import textwrap
import time
import unittest

import harness
import hostile

MIB = 1024 * 1024
# The broker's default line_buffer_budget_mib.
DEFAULT_BUDGET = 16 * MIB
# What the broker holds beyond the budget while 1,000 connections are open: each connection's first 4 KiB
# of line buffer, its coroutine frames, socket and timer, and the holders being closed at that moment.
MARGIN = 12 * MIB
RETURNED_WITHIN = 5.0  # seconds after the last attacker connection closed
RETURNED_TO = 1 * MIB  # above the RSS before the attack

SECRETS = {"GITHUB_TOKEN": "ghp-" + harness.CANARY, "NEIGHBOUR_TOKEN": "nb-" + harness.CANARY}

# Opens params["connections"] connections to the project socket and sends params["half_line"] bytes
# without a newline on each (or that many bytes of two-byte bad requests, with params["unread"]), then
# says "holding" and waits for a line on stdin before closing them all.
# Reports how many connections the broker closed, and the replies it sent them before closing.
HOLD_HALF_LINES = r"""
import json, os, resource, select, socket, sys, time
params = json.loads(sys.argv[1])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
want = params["connections"] + 64
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, want)), hard))
if params["unread"]:  # short malformed lines: each reply is 40 times longer, and it never reads them
    chunk = b"x\n" * (params["half_line"] // 2)
else:
    chunk = b"x" * params["half_line"]
held, refused_connect, broken = [], 0, 0
for _ in range(params["connections"]):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    connected, patience = False, time.monotonic() + 10
    while not connected:
        try:
            s.connect(params["socket"])
            connected = True
        except BlockingIOError:  # the socket's backlog is full for now: a patient attacker tries again
            if time.monotonic() > patience:
                break
            time.sleep(0.002)
        except OSError:
            break
    if not connected:
        refused_connect += 1
        s.close()
        continue
    try:
        s.sendall(chunk)
    except OSError:
        broken += 1
    held.append(s)
# Holding means the broker has taken what it will take: what is left unread in the connections' queues
# (nothing, unless the broker stopped reading to wait for the attacker to read) no longer changes.
import fcntl, struct, termios
def unread():
    total = 0
    for s in held:
        try:
            total += struct.unpack("i", fcntl.ioctl(s.fileno(), termios.TIOCOUTQ, b"\0\0\0\0"))[0]
        except OSError:
            pass
    return total
deadline, last, steady_since = time.monotonic() + 30, None, time.monotonic()
while time.monotonic() < deadline:
    now = unread()
    if now == 0:
        break
    if now != last:
        last, steady_since = now, time.monotonic()
    elif time.monotonic() - steady_since > 1.0:
        break
    time.sleep(0.05)
print("holding", flush=True)
sys.stdin.readline()
closed_by_broker, notices = 0, {}
for s in held:
    s.setblocking(False)
    try:
        data = s.recv(65536)
    except (BlockingIOError, InterruptedError):
        data = None
    except OSError:
        data = b""
    if data is not None:
        closed_by_broker += 1
        for line in data.splitlines():
            try:
                reply = json.loads(line)
            except ValueError:
                continue
            key = reply.get("code", "?") + ": " + reply.get("message", "")
            notices[key] = notices.get(key, 0) + 1
    s.close()
print(json.dumps({"held": len(held), "refused_connect": refused_connect, "broken": broken,
                  "closed_by_broker": closed_by_broker, "notices": notices}), flush=True)
"""


def rss(pid) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


class HalfLineHolder:
    """The attacker's process holding its connections, as uid 4242."""

    def __init__(self, socket_path, connections, half_line, unread=False):
        params = {"socket": str(socket_path), "connections": connections, "half_line": half_line,
                  "unread": unread}
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/nonexistent", "LANG": "C.UTF-8"}
        self.proc = subprocess.Popen(hostile.AS_ATTACKER + [sys.executable, "-c", HOLD_HALF_LINES,
                                                            json.dumps(params)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=env, cwd="/")

    def wait_holding(self, timeout=120):
        line = self.proc.stdout.readline()
        if line.strip() != "holding":
            self.proc.kill()
            raise AssertionError(f"attacker did not hold its connections: {line!r} {self.proc.stderr.read()}")

    def release(self) -> dict:
        out, err = self.proc.communicate("release\n", timeout=120)
        if self.proc.returncode != 0:
            raise AssertionError(f"attacker failed: {err[-2000:]}")
        return json.loads(out.strip().splitlines()[-1])

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@unittest.skipIf(harness.built_with_asan(), "ASan's shadow memory and quarantine make RSS figures meaningless")
class HostileMemoryTest(unittest.TestCase):
    def setUp(self):
        hostile.require_root(self)
        # The broker raises its own open-files limit to the hard limit, which it inherits from here.
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard < 4096:
            self.skipTest(f"the open-files hard limit ({hard}) is too low for 1,000 connections")
        # A project socket takes 64 connections by default; these attacks need the budget to be what stops
        # them (an admin may raise the cap, and many projects' connections add up the same way). Accepts
        # are paced at the default rate: the attacker retries while the backlog is full.
        self.start_broker()

    def start_broker(self, *args):
        self.broker = hostile.HostileBroker(extra_args=["--project-max-connections", "4096", *args]).start()
        self.addCleanup(self.broker.cleanup)
        self.assertTrue(self.broker.push(SECRETS)["ok"])
        self.assertTrue(self.broker.register_attacker_project("webapp", ["GITHUB_TOKEN"])["ok"])
        # The neighbour: another project, served to this test's own uid.
        self.assertTrue(self.broker.register("neighbour", ["NEIGHBOUR_TOKEN"], uids=[os.getuid()])["ok"])
        self.attacker_socket = self.broker.project_socket("webapp")
        self.neighbour_socket = self.broker.project_socket("neighbour")
        self.pid = self.broker.proc.pid

    def neighbour_get(self, connection=None) -> dict:
        request = {"op": "get", "name": "NEIGHBOUR_TOKEN"}
        if connection is not None:
            return connection.call(request)
        with harness.Connection(self.neighbour_socket) as fresh:
            return fresh.call(request)

    def settled_rss(self) -> int:
        """The idle RSS once the broker has had time to hand back what the set-up used."""
        time.sleep(3)
        return rss(self.pid)

    def attack(self, connections, half_line, unread=False):
        """Runs the half-line attack while a neighbour keeps asking; returns (before, peak, after, report)."""
        neighbour = harness.Connection(self.neighbour_socket)
        self.addCleanup(neighbour.close)
        self.assertTrue(self.neighbour_get(neighbour)["ok"])
        # The neighbour is in the middle of a request when the attack starts: it must be answered.
        request = json.dumps({"op": "get", "name": "NEIGHBOUR_TOKEN"}).encode() + b"\n"
        neighbour.send_raw(request[:20])
        before = self.settled_rss()

        holder = HalfLineHolder(self.attacker_socket, connections, half_line, unread)
        self.addCleanup(holder.kill)
        holder.wait_holding()
        neighbour.send_raw(request[20:])
        reply = neighbour.reply()
        self.assertTrue(reply.get("ok"), f"the neighbour's half-sent request was not answered: {reply}")
        peak = rss(self.pid)
        for _ in range(10):  # the neighbour is served throughout, on its held and on new connections
            self.assertTrue(self.neighbour_get(neighbour)["ok"])
            self.assertTrue(self.neighbour_get()["ok"])
            peak = max(peak, rss(self.pid))
            time.sleep(0.1)
        report = holder.release()
        released_at = time.monotonic()
        time.sleep(max(0.0, RETURNED_WITHIN - (time.monotonic() - released_at)))
        after = rss(self.pid)
        self.assertTrue(self.neighbour_get(neighbour)["ok"], "the neighbour's connection survived the attack")
        return before, peak, after, report

    def assert_bounded_and_returned(self, before, peak, after, budget=DEFAULT_BUDGET):
        print(f"\nRSS before {before / MIB:.1f} MiB, during {peak / MIB:.1f} MiB, "
              f"{RETURNED_WITHIN:.0f} s after {after / MIB:.1f} MiB", file=sys.stderr)
        self.assertLessEqual(peak, before + budget + MARGIN,
                             f"RSS during the attack {peak / MIB:.1f} MiB exceeds the budget "
                             f"({budget / MIB:.0f} MiB) plus {MARGIN / MIB:.0f} MiB over {before / MIB:.1f}")
        self.assertLessEqual(after, before + RETURNED_TO,
                             f"RSS {RETURNED_WITHIN:.0f} s after the attack is {after / MIB:.1f} MiB, "
                             f"not back within 1 MiB of {before / MIB:.1f} MiB")

    def test_a_thousand_64k_half_lines_stay_within_the_budget_and_are_handed_back(self):
        before, peak, after, report = self.attack(connections=1000, half_line=64 * 1024 - 1)
        print(f"attacker: {report}", file=sys.stderr)
        self.assert_bounded_and_returned(before, peak, after)
        self.assertGreater(report["closed_by_broker"], 0, "nothing was closed past the budget")
        for notice in report["notices"]:
            self.assertTrue(notice.startswith("rate_limited: "), notice)
        self.assertNotIn(harness.CANARY, self.broker.stderr())

    def test_a_thousand_small_half_lines_are_handed_back(self):
        before, peak, after, report = self.attack(connections=1000, half_line=3000)
        self.assert_bounded_and_returned(before, peak, after)
        self.assertEqual(report["closed_by_broker"], 0, "connections within the budget were closed")

    def test_replies_a_client_never_reads_stay_within_the_budget_and_are_handed_back(self):
        # Pipelined bad requests fill the reply buffer up to the flush threshold (each protocol_error reply
        # is 40 times its line), and a client that does not read leaves it waiting once the kernel's socket
        # buffer is full.
        before, peak, after, _ = self.attack(connections=500, half_line=64 * 1024 - 1, unread=True)
        self.assert_bounded_and_returned(before, peak, after)

    def test_replies_never_read_stay_within_the_budget_without_a_rate_limit(self):
        # With no rate limit nothing paces the refused lines: every one has a reply and an audit event,
        # and a session held one event per line until its client read the replies (152 MiB here).
        self.broker.cleanup()
        self.start_broker("--requests-per-second", "0")
        before, peak, after, _ = self.attack(connections=500, half_line=64 * 1024 - 1, unread=True)
        self.assert_bounded_and_returned(before, peak, after)

    def test_half_lines_on_a_neighbours_budget_close_the_attackers_connections_only(self):
        # A neighbour holding a large half-line of its own while the attacker fills the budget keeps it.
        neighbour = harness.Connection(self.neighbour_socket)
        self.addCleanup(neighbour.close)
        big_request = json.dumps({"op": "get", "name": "NEIGHBOUR_TOKEN", "pad": "p" * 40000}).encode()
        neighbour.send_raw(big_request[:30000])
        holder = HalfLineHolder(self.attacker_socket, 600, 64 * 1024 - 1)
        self.addCleanup(holder.kill)
        holder.wait_holding()
        time.sleep(2)  # the broker has read every half-line by then
        neighbour.send_raw(big_request[30000:] + b"\n")
        reply = neighbour.reply()
        self.assertNotEqual(reply.get("code"), "rate_limited", reply)
        report = holder.release()
        self.assertGreater(report["closed_by_broker"], 0)


if __name__ == "__main__":
    unittest.main()
