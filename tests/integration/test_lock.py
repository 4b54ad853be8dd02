"""The kill switch (issue 4): admin `lock` / `unlock` against the real daemon.

While locked every project-socket request but ping gets `locked` at once and is audited; the lock survives
a clean restart and a SIGKILL; a lock file that cannot be read at start keeps the broker locked (fail
closed) and says so in the log and in status; lock and unlock are idempotent.
"""

import json
import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import CANARY, Broker, Connection  # noqa: E402

SECRETS = {"TOKEN": CANARY + "-token", "OTHER": "other-value"}


class LockTest(unittest.TestCase):
    def setUp(self):
        self.broker = Broker(extra_args=["--requests-per-second", "0"]).start()
        self.addCleanup(self.broker.cleanup)
        self.assertTrue(self.broker.push(SECRETS)["ok"])
        self.assertTrue(self.broker.register("alpha", ["TOKEN"])["ok"])
        self.assertTrue(self.broker.register("beta", ["OTHER"])["ok"])

    def restart(self, sig=signal.SIGTERM):
        self.broker.stop(sig)
        self.broker.start()

    def assert_no_canary_leaked(self):
        self.assertNotIn(CANARY, self.broker.stderr())
        self.assertNotIn(CANARY, self.broker.audit_log.read_text())
        self.assertEqual(self.broker.files_containing(CANARY.encode()), [])

    def test_locked_broker_refuses_every_project_request_but_ping(self):
        reply = self.broker.admin({"op": "lock", "reason": "laptop stolen", "id": 1})
        self.assertEqual(reply["ok"], True, reply)
        self.assertEqual(reply["id"], 1)
        self.assertEqual((reply["locked"], reply["changed"], reply["lock_reason"]), (True, True, "laptop stolen"))

        for project, name in (("alpha", "TOKEN"), ("beta", "OTHER")):
            with Connection(self.broker.project_socket(project)) as c:
                refused = c.call({"op": "get", "name": name, "id": "g"})
                self.assertEqual((refused["ok"], refused["code"], refused["id"]), (False, "locked", "g"))
                self.assertNotIn("value", refused)
                self.assertEqual(c.call({"op": "info"})["code"], "locked")
                self.assertEqual(c.call({"op": "get", "name": "not allowed!"})["code"], "locked",
                                 "refused before the request is even validated")
                ping = c.call({"op": "ping"})
                self.assertEqual((ping["ok"], ping["project"]), (True, project), "health checks keep working")

        status = self.broker.admin({"op": "status"})
        self.assertEqual((status["locked"], status["lock_reason"]), (True, "laptop stolen"))
        self.assertEqual(status["locked_at"], reply["locked_at"])
        self.assertIsNone(status["lock_error"])

        refusals = self.broker.wait_audit(lambda e: e.get("outcome") == "locked")
        self.assertTrue(refusals)
        time.sleep(1.2)  # the summaries of the last second are written once it is over
        events = [e for e in self.broker.audit_events() if e.get("outcome") == "locked"]
        self.assertEqual({e["project"] for e in events}, {"alpha", "beta"})
        self.assertEqual({e["decision"] for e in events}, {"deny"})
        # Refusals of one (project, uid, outcome) past the first of a second are counted in audit.suppressed.
        names = {e["event"] for e in events if e["event"] != "audit.suppressed"}
        names |= {n for e in events if e["event"] == "audit.suppressed" for n in e["events"]}
        self.assertEqual(names, {"secret.get", "project.info"})
        lock_events = [e for e in self.broker.audit_events() if e["event"] == "broker.lock"]
        self.assertEqual(len(lock_events), 1)
        self.assertEqual(lock_events[0]["reason"], "laptop stolen")
        self.assertEqual(lock_events[0]["peer"]["uid"], os.getuid())
        self.assertIn("locked by uid", self.broker.stderr())

        unlocked = self.broker.admin({"op": "unlock"})
        self.assertEqual(unlocked, {"ok": True, "locked": False, "changed": True})
        self.assertEqual(self.broker.project("alpha", {"op": "get", "name": "TOKEN"})["value"], SECRETS["TOKEN"])
        self.assertTrue(self.broker.wait_audit(lambda e: e["event"] == "broker.unlock"))
        self.assert_no_canary_leaked()

    def test_connection_open_before_the_lock_is_refused_on_its_next_request(self):
        with Connection(self.broker.project_socket("alpha")) as c:
            self.assertEqual(c.call({"op": "get", "name": "TOKEN"})["value"], SECRETS["TOKEN"])
            self.assertTrue(self.broker.admin({"op": "lock"})["ok"])
            self.assertEqual(c.call({"op": "get", "name": "TOKEN"})["code"], "locked")
            # Pipelined requests: each one answered, in order, every one refused.
            c.send_raw(b'{"op":"get","name":"TOKEN","id":1}\n{"op":"ping","id":2}\n{"op":"info","id":3}\n')
            replies = [c.reply() for _ in range(3)]
            self.assertEqual([r["id"] for r in replies], [1, 2, 3])
            self.assertEqual([r["ok"] for r in replies], [False, True, False])

    def test_lock_and_unlock_are_idempotent(self):
        first = self.broker.admin({"op": "lock", "reason": "first"})
        second = self.broker.admin({"op": "lock", "reason": "second"})
        self.assertEqual(second["changed"], False)
        self.assertEqual((second["locked_at"], second["lock_reason"]), (first["locked_at"], "first"))
        self.assertEqual(self.broker.admin({"op": "unlock"})["changed"], True)
        self.assertEqual(self.broker.admin({"op": "unlock"}), {"ok": True, "locked": False, "changed": False})
        for bad in ({"op": "lock", "reason": 5}, {"op": "lock", "reason": "x" * 300},
                    {"op": "lock", "reason": "a\nb"}, {"op": "lock", "force": True}, {"op": "unlock", "x": 1}):
            reply = self.broker.admin(bad)
            self.assertEqual(reply["code"], "protocol_error", bad)
        self.assertEqual(self.broker.admin({"op": "status"})["locked"], False)

    def test_lock_survives_a_clean_restart_and_a_sigkill(self):
        locked = self.broker.admin({"op": "lock", "reason": "incident 42"})
        for sig in (signal.SIGTERM, signal.SIGKILL):
            self.restart(sig)
            status = self.broker.admin({"op": "status"})
            self.assertEqual((status["locked"], status["lock_reason"], status["locked_at"]),
                             (True, "incident 42", locked["locked_at"]), sig)
            self.assertEqual(self.broker.project("beta", {"op": "get", "name": "OTHER"})["code"], "locked")
            self.assertIn("the broker is locked", self.broker.stderr())
        self.assertTrue(self.broker.admin({"op": "unlock"})["changed"])
        self.restart(signal.SIGKILL)
        self.assertEqual(self.broker.admin({"op": "status"})["locked"], False)
        self.assertEqual(self.broker.project("beta", {"op": "get", "name": "OTHER"})["value"], "other-value")

    def test_an_unreadable_lock_file_starts_the_broker_locked(self):
        lock_file = self.broker.sandbox / "state" / "locked.json"
        for content in (b"{not json", b'{"locked":"no"}', b""):
            self.broker.stop()
            lock_file.write_bytes(content)
            self.broker.start()
            status = self.broker.admin({"op": "status"})
            self.assertEqual(status["locked"], True, content)
            self.assertIn(str(lock_file), status["lock_error"])
            self.assertIn("starting LOCKED", self.broker.stderr())
            self.assertEqual(self.broker.project("alpha", {"op": "get", "name": "TOKEN"})["code"], "locked")
        # An administrator clears it explicitly; the file is then whole again.
        self.assertEqual(self.broker.admin({"op": "unlock"})["changed"], True)
        self.assertEqual(json.loads(lock_file.read_text())["locked"], False)
        self.assertIsNone(self.broker.admin({"op": "status"})["lock_error"])
        self.assertEqual(self.broker.project("alpha", {"op": "get", "name": "TOKEN"})["value"], SECRETS["TOKEN"])

    def test_lock_file_is_private_and_written_atomically(self):
        self.broker.admin({"op": "lock", "reason": "check mode"})
        lock_file = self.broker.sandbox / "state" / "locked.json"
        self.assertEqual(os.stat(lock_file).st_mode & 0o777, 0o600)
        saved = json.loads(lock_file.read_text())
        self.assertEqual((saved["locked"], saved["reason"]), (True, "check mode"))
        leftovers = [p.name for p in lock_file.parent.iterdir() if p.name.startswith("locked.json.")]
        self.assertEqual(leftovers, [])


if __name__ == "__main__":
    unittest.main()
