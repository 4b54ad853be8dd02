"""Hostile container, finding 2: the audit log fails open and can be flooded.

The attacker (uid 4242) floods its project socket with lines the broker refuses, hoping to fill the audit
disk or bury its own gets; or it waits for the audit disk to fill and takes secrets that leave no trace.
The broker must keep the log's growth bounded (refusals grouped into audit.suppressed lines), refuse every
get while its line cannot be written, resume by itself, and never lose the line of a get it served.

REMO_AUDIT_FLOOD_SECONDS=60 runs the rotation flood for a full minute (the default is 5 s).
"""

import errno
import json
import os
import pathlib
import subprocess
import time
import unittest

import jsonschema

import harness
import hostile

SCHEMA = json.loads((harness.SOURCE_DIR / "protocol" / "remo-broker.schema.json").read_text())


def schema(pointer):
    return jsonschema.Draft202012Validator({"$defs": SCHEMA["$defs"], "$ref": pointer})

SECRETS = {"GITHUB_TOKEN": "ghp-" + harness.CANARY, "PROD_DB_PASSWORD": "prod-" + harness.CANARY}
REFUSALS = ("rate_limited", "denied", "protocol_error")

# Several connections, each sending a window of mixed lines (`repeat` times each kind) and reading every
# reply before the next window, for `seconds`. Returns the replies counted by code, and the attacker's pid (its audit lines').
FLOOD = """
import threading
lines = [b'{"op":"get","name":"GITHUB_TOKEN"}', b'{"op":"get","name":"PROD_DB_PASSWORD"}', b'{not json',
         b'{"op":"no_such_op"}', b'{"op":"info"}', b'{"op":"ping"}']
window = b"\\n".join(lines * params["repeat"]) + b"\\n"
per_window = len(lines) * params["repeat"]
counts = {}
lock = threading.Lock()
def flood():
    mine = {}
    with connect(params["socket"], timeout=30) as s:
        end = time.monotonic() + params["seconds"]
        rest = b""
        while time.monotonic() < end:
            s.sendall(window)
            for _ in range(per_window):
                reply, rest = read_line(s, rest)
                code = "ok" if reply.get("ok") else reply["code"]
                mine[code] = mine.get(code, 0) + 1
    with lock:
        for code, n in mine.items():
            counts[code] = counts.get(code, 0) + n
threads = [threading.Thread(target=flood) for _ in range(params["connections"])]
for t in threads: t.start()
for t in threads: t.join()
result = {"counts": counts, "pid": os.getpid()}
"""

# Gets one at a time until `refusals` of them were refused (or `tries` ran out); returns what came back.
GETS_UNTIL_REFUSED = """
served, refused = 0, []
for _ in range(params["tries"]):
    reply = call(params["socket"], {"op": "get", "name": "GITHUB_TOKEN"})
    if reply.get("ok"):
        served += 1
    else:
        refused.append(reply)
        if len(refused) >= params["refusals"]:
            break
    time.sleep(0.02)
result = {"served": served, "refused": refused, "pid": os.getpid()}
"""

# Gets until one is served again (the audit disk has room again), within `seconds`.
GETS_UNTIL_SERVED = """
served, refused, end = 0, 0, time.monotonic() + params["seconds"]
while time.monotonic() < end:
    reply = call(params["socket"], {"op": "get", "name": "GITHUB_TOKEN"})
    if reply.get("ok"):
        served += 1
        break
    refused += 1
    time.sleep(0.05)
result = {"served": served, "refused": refused, "pid": os.getpid()}
"""

# Pipelined gets at full speed on several connections for `seconds`; returns how many were served.
GET_FLOOD = """
import threading
served = [0] * params["connections"]
def flood(index):
    window = b'{"op":"get","name":"GITHUB_TOKEN"}\\n' * 64
    with connect(params["socket"], timeout=30) as s:
        end, rest = time.monotonic() + params["seconds"], b""
        while time.monotonic() < end:
            s.sendall(window)
            for _ in range(64):
                reply, rest = read_line(s, rest)
                served[index] += 1 if reply.get("ok") else 0
threads = [threading.Thread(target=flood, args=(i,)) for i in range(params["connections"])]
for t in threads: t.start()
for t in threads: t.join()
result = {"served": sum(served), "pid": os.getpid()}
"""


def events_in(files):
    events = []
    for path in files:
        events += [json.loads(line) for line in pathlib.Path(path).read_text().splitlines() if line.strip()]
    return events


def audit_files(log_dir: pathlib.Path):
    return sorted(p for p in log_dir.iterdir() if p.name.startswith("audit.log"))


def served_gets_of(events, pid):
    return [e for e in events if e.get("event") == "secret.get" and e.get("decision") == "allow"
            and e.get("outcome") == "ok" and e.get("peer", {}).get("pid") == pid]


class AuditFloodTest(unittest.TestCase):
    def start(self, *args, limits=""):
        return hostile.attacked_broker(self, SECRETS, manifest_extra=limits, extra_args=args)

    def test_a_refusal_flood_grows_the_audit_log_by_a_bounded_amount_and_every_refusal_is_counted(self):
        broker = self.start(limits="[limits]\nrequests_per_second = 10\nburst = 10\n")
        socket = str(broker.project_socket("webapp"))
        before = broker.audit_log.stat().st_size
        seconds = 3
        started = time.monotonic()
        # After a refusal for its rate each connection waits 100 ms before its next line: many connections
        # (within the socket's 64) make the flood.
        flood = hostile.attack(FLOOD, timeout=120, socket=socket, seconds=seconds, connections=60, repeat=2)
        elapsed = time.monotonic() - started
        time.sleep(1.5)  # the summaries of the flood's last second are written once it is over
        growth = broker.audit_log.stat().st_size - before
        counts = flood["counts"]
        refused = sum(n for code, n in counts.items() if code != "ok")
        self.assertGreater(refused, 1000, f"the flood was too small to tell anything: {counts}")
        # Allowed gets and pings (about rate * seconds + burst each) plus at most two lines per
        # (project, uid, outcome) per second: tens of kilobytes, not one line per refusal.
        self.assertLess(growth / elapsed, 24 * 1024,
                        f"audit.log grew {growth} bytes in {elapsed:.1f} s for {refused} refusals")

        events = broker.audit_events()
        summaries = [e for e in events if e["event"] == "audit.suppressed"]
        self.assertTrue(summaries, "a flood of refusals must leave audit.suppressed lines")
        for summary in summaries:
            schema("#/$defs/audit_suppressed").validate(summary)
            self.assertEqual((summary["project"], summary["peer_uid"], summary["decision"]),
                             ("webapp", hostile.ATTACKER_UID, "deny"))
            self.assertEqual(summary["count"], sum(summary["events"].values()))
        for outcome in REFUSALS:
            full = [e for e in events if e.get("outcome") == outcome and e["event"] != "audit.suppressed"
                    and e.get("peer", {}).get("pid") == flood["pid"]]
            counted = sum(s["count"] for s in summaries if s["outcome"] == outcome)
            self.assertEqual(len(full) + counted, counts.get(outcome, 0),
                             f"{outcome}: {len(full)} lines + {counted} counted != {counts.get(outcome)} replies")
        served = counts.get("ok", 0)
        allowed = [e for e in events if e.get("decision") == "allow" and e.get("peer", {}).get("pid") == flood["pid"]]
        self.assertGreater(len(allowed), 0)
        self.assertNotIn(harness.CANARY, broker.audit_log.read_text())
        self.assertLessEqual(len(allowed), served)

    def test_rotation_keeps_the_audit_directory_bounded_and_loses_no_allowed_get(self):
        rotate, keep = 64 * 1024, 1000
        broker = self.start("--requests-per-second", "0", "--audit-rotate-bytes", str(rotate),
                            "--audit-keep-files", str(keep))
        log_dir = broker.audit_log.parent
        flood = hostile.attack(GET_FLOOD, timeout=120, socket=str(broker.project_socket("webapp")),
                               seconds=5, connections=4)
        broker.stop()
        files = audit_files(log_dir)
        self.assertGreater(len(files), 2, "a 5-second get flood must rotate a 64 KiB log")
        for path in files:
            self.assertLessEqual(path.stat().st_size, rotate, path.name)
        events = events_in(files)
        self.assertEqual(len(served_gets_of(events, flood["pid"])), flood["served"],
                         "every allowed get that was served has its line")
        self.assertFalse([e for e in events if e["event"] == "audit.dropped"])

    def test_a_full_speed_flood_keeps_the_audit_directory_under_its_stated_bound(self):
        rotate, keep = 64 * 1024, 3
        seconds = int(os.environ.get("REMO_AUDIT_FLOOD_SECONDS", "5"))
        broker = self.start("--requests-per-second", "0", "--audit-rotate-bytes", str(rotate),
                            "--audit-keep-files", str(keep))
        log_dir = broker.audit_log.parent
        flood = hostile.attack(GET_FLOOD, timeout=seconds + 120, socket=str(broker.project_socket("webapp")),
                               seconds=seconds, connections=4)
        status = broker.admin({"op": "status"})["audit"]
        self.assertEqual((status["dropped"], status["rotate_bytes"], status["keep_files"]), (0, rotate, keep))
        broker.stop()
        files = audit_files(log_dir)
        self.assertEqual(len(files), keep + 1, [p.name for p in files])
        # The bound the README states: (keep + 1) * rotate bytes of lines, plus the writer's 4 MiB reserve.
        on_disk = sum(p.stat().st_blocks * 512 for p in log_dir.iterdir())
        self.assertLessEqual(on_disk, (keep + 1) * rotate + 4 * 1024 * 1024 + 64 * 1024)
        self.assertGreater(flood["served"], 1000)
        # The newest gets are in the newest file, in order, and nothing was dropped.
        self.assertTrue(served_gets_of(events_in([log_dir / "audit.log"]), flood["pid"]))


class AuditDiskFullTest(unittest.TestCase):
    """A tiny tmpfs mounted over the sandbox's log directory, filled by root: the audit disk is full."""

    def setUp(self):
        hostile.require_root(self)
        if subprocess.run(["which", "mount"], capture_output=True).returncode != 0:
            self.skipTest("mount is not available")

    def start(self, *args):
        broker = hostile.HostileBroker(extra_args=["--requests-per-second", "0", *args]).start()
        self.addCleanup(broker.cleanup)
        self.assertTrue(broker.push(SECRETS)["ok"])
        self.assertTrue(broker.register_attacker_project("webapp", ["GITHUB_TOKEN"])["ok"])
        log_dir = broker.audit_log.parent
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(log_dir)],
                                 capture_output=True, text=True)
        if mounted.returncode != 0:
            self.skipTest(f"cannot mount a tmpfs: {mounted.stderr.strip()}")
        self.addCleanup(subprocess.run, ["umount", "-l", str(log_dir)], capture_output=True)
        socket = str(broker.project_socket("webapp"))
        # The writer notices the new (empty) directory within its check interval and re-creates the file.
        deadline = time.monotonic() + 10
        while not broker.audit_log.exists() and time.monotonic() < deadline:
            self.assertTrue(hostile.attack(GETS_UNTIL_REFUSED, socket=socket, tries=1, refusals=1)["served"])
            time.sleep(0.2)
        self.assertTrue(broker.audit_log.exists(), "the audit log was not re-created on the tmpfs")
        return broker, socket

    def fill(self, log_dir: pathlib.Path) -> pathlib.Path:
        filler = log_dir / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError as error:
            self.assertEqual(error.errno, errno.ENOSPC)
        finally:
            os.close(fd)
        return filler

    def test_a_get_is_refused_while_the_audit_disk_is_full_and_served_again_once_it_has_room(self):
        broker, socket = self.start()
        filler = self.fill(broker.audit_log.parent)

        full = hostile.attack(GETS_UNTIL_REFUSED, socket=socket, tries=50, refusals=3)
        self.assertEqual(len(full["refused"]), 3, f"gets went on being served on a full audit disk: {full}")
        for reply in full["refused"]:
            self.assertEqual(reply["code"], "internal_error")
            self.assertIn("audit log cannot be written", reply["message"])
            self.assertNotIn("value", reply)
            self.assertNotIn(harness.CANARY, json.dumps(reply))
        status = broker.admin({"op": "status"})["audit"]
        schema("#/$defs/audit_health").validate(status)
        self.assertEqual((status["state"], status["accepting"], status["on_failure"]),
                         ("degraded", False, "refuse"), status)
        self.assertIn("space", status["error"])
        # Audited admin ops are held back too; status and lock are not.
        self.assertEqual(broker.push(SECRETS)["code"], "internal_error")

        filler.unlink()
        resumed = hostile.attack(GETS_UNTIL_SERVED, socket=socket, seconds=10)
        self.assertEqual(resumed["served"], 1, "service did not resume once the disk had room")
        self.assertTrue(broker.admin({"op": "status"})["audit"]["accepting"])
        broker.stop()
        events = events_in(audit_files(broker.audit_log.parent))
        for attack in (full, resumed):
            self.assertEqual(len(served_gets_of(events, attack["pid"])), attack["served"],
                             "a get was served and has no audit line")
        self.assertNotIn(harness.CANARY, json.dumps(events))

    def test_gets_admitted_as_the_disk_fills_are_written_even_if_the_broker_stops_while_it_is_full(self):
        # Pipelined gets race the writer's discovery that the disk is full: the ones admitted before it
        # noticed must still reach the file (the preallocated reserve is there for them), not wait in memory
        # for a recovery that a SIGTERM cuts short.
        broker, socket = self.start()
        self.fill(broker.audit_log.parent)
        flood = hostile.attack(GET_FLOOD, timeout=60, socket=socket, seconds=2, connections=4)
        self.assertGreater(flood["served"], 0, "no get was admitted before the broker noticed the full disk")
        broker.stop()  # SIGTERM, with the disk still full
        events = events_in(audit_files(broker.audit_log.parent))
        self.assertEqual(len(served_gets_of(events, flood["pid"])), flood["served"],
                         "a get was served and its audit line was lost at shutdown")
        self.assertNotIn("events unwritten", broker.stderr())

    def test_audit_failure_serve_answers_on_a_full_disk_as_documented(self):
        broker, socket = self.start("--audit-failure", "serve")
        self.fill(broker.audit_log.parent)
        full = hostile.attack(GETS_UNTIL_REFUSED, socket=socket, tries=5, refusals=1)
        self.assertEqual(full["served"], 5, "audit_failure = serve keeps serving (weaker, by choice)")
        self.assertEqual(broker.admin({"op": "status"})["audit"]["on_failure"], "serve")


if __name__ == "__main__":
    unittest.main()
