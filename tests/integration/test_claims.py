"""One-shot secrets over the real sockets: claim-create / claim-list / claim-revoke on the admin socket,
claim / delete on a project socket, against a real remo-broker in a sandbox.

Proves: exactly one claim succeeds per secret with 32 concurrent claimers; pending secrets survive a
restart and a SIGKILL in the middle of a claim storm (none claimed twice, none lost while pending); a
delete acknowledged is durable; expiry is audited; revoke; listings and every file, log and audit line
are free of tokens and values; bad input gets specific errors and costs nothing.
"""

import base64
import os
import random
import signal
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import CANARY, Broker, Connection  # noqa: E402


def value_for(i):
    return f"{CANARY}-oneshot-{i}"


class ClaimTest(unittest.TestCase):
    def setUp(self):
        self.broker = Broker(extra_args=["--requests-per-second", "0"]).start()  # claim storms: no rate limit
        self.addCleanup(self.broker.cleanup)
        self.assertTrue(self.broker.push({"GITHUB_TOKEN": CANARY + "-bundle"})["ok"])
        self.assertTrue(self.broker.register("proj", ["GITHUB_TOKEN"])["ok"])
        self.assertTrue(self.broker.register("other", [])["ok"])
        self.tokens_seen = []

    def create(self, value, project="proj", ttl=3600, **extra):
        reply = self.broker.admin({"op": "claim-create", "project": project, "value": value,
                                   "ttl_seconds": ttl, **extra})
        self.assertTrue(reply["ok"], reply)
        self.tokens_seen.append(reply["token"])
        return reply

    def create_many(self, count, ttl=3600):
        tokens = {}
        with Connection(self.broker.admin_socket) as admin:
            for i in range(count):
                reply = admin.call({"op": "claim-create", "project": "proj", "value": value_for(i),
                                    "ttl_seconds": ttl})
                self.assertTrue(reply["ok"], reply)
                tokens[reply["token"]] = value_for(i)
        self.tokens_seen.extend(tokens)
        return tokens

    def assert_nothing_leaked(self):
        """The canary (values) and every token ever issued: nowhere in logs, audit or any sandbox file."""
        self.broker.stop()
        needles = [CANARY.encode()] + [t.encode() for t in self.tokens_seen]
        for needle in needles:
            self.assertEqual(self.broker.files_containing(needle), [], f"{needle[:12]!r}... found on disk")
        stderr = self.broker.stderr()
        audit = self.broker.audit_log.read_text()
        for needle in needles:
            self.assertNotIn(needle.decode(), stderr)
            self.assertNotIn(needle.decode(), audit)

    def test_create_claim_once_and_audit(self):
        created = self.create(CANARY, id=11)
        self.assertEqual(created["id"], 11)
        self.assertEqual(set(created), {"ok", "id", "claim_id", "token", "expires_at"})
        self.assertRegex(created["token"], r"^rbc_[A-Za-z0-9_-]{43}$")
        self.assertRegex(created["claim_id"], r"^[0-9a-f]{16}$")
        self.assertEqual(self.broker.admin({"op": "status"})["claims_pending"], 1)

        claimed = self.broker.project("proj", {"op": "claim", "token": created["token"], "id": "x"})
        self.assertEqual(claimed, {"ok": True, "id": "x", "value": CANARY})
        again = self.broker.project("proj", {"op": "claim", "token": created["token"]})
        self.assertEqual(again["code"], "not_found")
        self.assertEqual(self.broker.admin({"op": "status"})["claims_pending"], 0)

        events = self.broker.wait_audit(lambda e: e["event"] == "claim.claim" and e["outcome"] == "not_found")
        self.assertTrue(events)
        ok = [e for e in self.broker.audit_events() if e["event"] == "claim.claim" and e["outcome"] == "ok"]
        self.assertEqual(len(ok), 1)
        self.assertEqual(ok[0]["claim_id"], created["claim_id"])
        self.assertEqual(ok[0]["project"], "proj")
        self.assertIn("uid", ok[0]["peer"])
        create_events = [e for e in self.broker.audit_events() if e["event"] == "claim.create"]
        self.assertEqual(create_events[0]["claim_id"], created["claim_id"])
        self.assert_nothing_leaked()

    def test_binary_value_round_trips_as_value_b64(self):
        raw = bytes(range(256))
        reply = self.broker.admin({"op": "claim-create", "project": "proj",
                                   "value_b64": base64.b64encode(raw).decode(), "ttl_seconds": 60})
        self.assertTrue(reply["ok"], reply)
        claimed = self.broker.project("proj", {"op": "claim", "token": reply["token"]})
        self.assertEqual(base64.b64decode(claimed["value_b64"]), raw)

    def test_exactly_once_with_32_concurrent_claimers(self):
        tokens = self.create_many(200)
        order = list(tokens)
        wins = []  # (token, value) for every ok claim
        failures = []
        lock = threading.Lock()
        start = threading.Barrier(32)

        def claimer(seed):
            rng = random.Random(seed)
            mine = order[:]
            rng.shuffle(mine)
            start.wait()
            with Connection(self.broker.project_socket("proj"), timeout=30) as conn:
                for token in mine:  # every thread tries every token
                    reply = conn.call({"op": "claim", "token": token})
                    with lock:
                        if reply.get("ok"):
                            wins.append((token, reply["value"]))
                        elif reply.get("code") != "not_found":
                            failures.append(reply)

        threads = [threading.Thread(target=claimer, args=(i,)) for i in range(32)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(failures, [])
        self.assertEqual(len(wins), len(tokens), "each secret claimed exactly once")
        self.assertEqual(len({t for t, _ in wins}), len(tokens))
        for token, value in wins:
            self.assertEqual(tokens[token], value)
        self.assertEqual(self.broker.admin({"op": "status"})["claims_pending"], 0)
        states = [c["state"] for c in self.broker.admin({"op": "claim-list"})["claims"]]
        self.assertEqual(states, ["claimed"] * len(tokens))

    def test_pending_secrets_survive_restart(self):
        tokens = self.create_many(5)
        first, second, *rest = list(tokens)
        self.assertTrue(self.broker.project("proj", {"op": "claim", "token": first})["ok"])
        self.broker.stop(signal.SIGTERM)
        self.broker.start()
        self.assertEqual(self.broker.project("proj", {"op": "claim", "token": first})["code"], "not_found")
        self.assertEqual(self.broker.project("proj", {"op": "claim", "token": second})["value"], tokens[second])
        self.broker.stop(signal.SIGKILL)
        self.broker.start()
        self.assertEqual(self.broker.project("proj", {"op": "claim", "token": second})["code"], "not_found")
        for token in rest:
            self.assertEqual(self.broker.project("proj", {"op": "claim", "token": token})["value"], tokens[token])
        self.assert_nothing_leaked()

    def test_sigkill_during_claim_storm_never_revives_or_loses(self):
        tokens = self.create_many(600)
        order = list(tokens)
        won = {}  # token -> value, replies received before the kill
        attempted = set()
        lock = threading.Lock()
        stop = threading.Event()

        def claimer(seed):
            rng = random.Random(seed)
            try:
                with Connection(self.broker.project_socket("proj"), timeout=10) as conn:
                    while not stop.is_set():
                        token = rng.choice(order)
                        with lock:
                            attempted.add(token)
                        reply = conn.call({"op": "claim", "token": token})
                        if reply.get("ok"):
                            with lock:
                                self.assertNotIn(token, won, "claimed twice before the crash")
                                won[token] = reply["value"]
            except (ConnectionError, OSError):
                pass  # the broker died under us

        threads = [threading.Thread(target=claimer, args=(i,)) for i in range(32)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 15  # a loaded disk can take tens of ms per durable write
        while len(won) < 40 and time.monotonic() < deadline:  # mid-storm: some claimed, most not
            time.sleep(0.005)
        self.broker.proc.send_signal(signal.SIGKILL)
        stop.set()
        for t in threads:
            t.join()
        self.broker.stop(signal.SIGKILL)
        self.assertGreater(len(won), 0, "the storm claimed nothing before the kill")
        self.assertLess(len(attempted), len(order), "every token was touched: nothing left to prove")

        self.broker.start()
        for token, value in won.items():
            self.assertEqual(tokens[token], value)
        revived, lost = [], []
        with Connection(self.broker.project_socket("proj")) as conn:
            for token in order:
                reply = conn.call({"op": "claim", "token": token})
                if token in won and reply.get("ok"):
                    revived.append(token)
                if token not in attempted and not reply.get("ok"):
                    lost.append((token, reply))
                if reply.get("ok"):
                    self.assertEqual(reply["value"], tokens[token])
        self.assertEqual(revived, [], "a claimed secret came back after the crash")
        self.assertEqual(lost, [], "a pending secret nobody touched was lost")
        self.assertEqual(self.broker.admin({"op": "status"})["claims_pending"], 0)
        print(f"storm: {len(won)} claimed before SIGKILL, {len(attempted)} touched of {len(order)}")

    def test_delete_is_durable(self):
        created = self.create(CANARY)
        self.assertEqual(self.broker.project("proj", {"op": "delete", "token": created["token"]}), {"ok": True})
        self.broker.stop(signal.SIGKILL)  # at once: the ok promised durability
        self.broker.start()
        self.assertEqual(self.broker.project("proj", {"op": "claim", "token": created["token"]})["code"],
                         "not_found")
        self.assertEqual(self.broker.project("proj", {"op": "delete", "token": created["token"]})["code"],
                         "not_found")
        listed = self.broker.admin({"op": "claim-list"})["claims"]
        self.assertEqual([(c["claim_id"], c["state"]) for c in listed], [(created["claim_id"], "deleted")])
        self.assertIn("finished_at", listed[0])
        events = self.broker.audit_events()
        self.assertTrue([e for e in events if e["event"] == "claim.delete" and e["outcome"] == "ok"
                         and e["claim_id"] == created["claim_id"]])
        self.assert_nothing_leaked()

    def test_expired_secrets_are_wiped_and_audited(self):
        short = self.create(CANARY + "-short", ttl=1)
        long = self.create(CANARY + "-long", ttl=3600)
        events = self.broker.wait_audit(lambda e: e["event"] == "claim.expired", timeout=15)
        self.assertEqual(len(events), 1, events)
        self.assertEqual(events[0]["claim_id"], short["claim_id"])
        self.assertEqual(events[0]["project"], "proj")
        self.assertEqual(self.broker.project("proj", {"op": "claim", "token": short["token"]})["code"],
                         "not_found")
        states = {c["claim_id"]: c["state"] for c in self.broker.admin({"op": "claim-list"})["claims"]}
        self.assertEqual(states, {short["claim_id"]: "expired", long["claim_id"]: "pending"})
        self.assertEqual(self.broker.admin({"op": "status"})["claims_pending"], 1)
        self.assert_nothing_leaked()

    def test_revoke(self):
        created = self.create(CANARY)
        self.assertEqual(self.broker.admin({"op": "claim-revoke", "claim_id": created["claim_id"]}), {"ok": True})
        self.assertEqual(self.broker.project("proj", {"op": "claim", "token": created["token"]})["code"],
                         "not_found")
        again = self.broker.admin({"op": "claim-revoke", "claim_id": created["claim_id"]})
        self.assertEqual(again["code"], "not_found")
        unknown = self.broker.admin({"op": "claim-revoke", "claim_id": "0123456789abcdef"})
        self.assertEqual(unknown["code"], "not_found")
        malformed = self.broker.admin({"op": "claim-revoke", "claim_id": "../../etc"})
        self.assertEqual(malformed["code"], "protocol_error")
        events = [e for e in self.broker.audit_events() if e["event"] == "claim.revoke"]
        self.broker.wait_audit(lambda e: e["event"] == "claim.revoke" and e["outcome"] == "not_found")
        events = [e for e in self.broker.audit_events() if e["event"] == "claim.revoke"]
        self.assertEqual(events[0]["outcome"], "ok")
        self.assertEqual(events[0]["project"], "proj")
        self.assert_nothing_leaked()

    def test_list_never_shows_tokens_or_values(self):
        tokens = self.create_many(3)
        first = next(iter(tokens))
        self.broker.project("proj", {"op": "claim", "token": first})
        listed = self.broker.admin({"op": "claim-list"})
        self.assertTrue(listed["ok"])
        self.assertEqual(len(listed["claims"]), 3)
        for row in listed["claims"]:
            self.assertLessEqual(set(row), {"claim_id", "project", "state", "created_at", "expires_at",
                                            "finished_at"})
        text = str(listed)
        self.assertNotIn(CANARY, text)
        for token in tokens:
            self.assertNotIn(token, text)
            self.assertNotIn(token[4:], text)

    def test_token_of_another_project_is_not_found_and_not_consumed(self):
        created = self.create(CANARY)
        foreign = self.broker.project("other", {"op": "claim", "token": created["token"]})
        unknown = self.broker.project("proj", {"op": "claim", "token": "rbc_" + "A" * 43})
        self.assertEqual(foreign["code"], "not_found")
        self.assertEqual(foreign["message"], unknown["message"], "one message for every reason")
        self.assertEqual(self.broker.project("other", {"op": "delete", "token": created["token"]})["code"],
                         "not_found")
        self.assertEqual(self.broker.project("proj", {"op": "claim", "token": created["token"]})["value"], CANARY)

    def test_bad_input_gets_specific_errors_and_costs_nothing(self):
        created = self.create(CANARY)
        cases = [
            ({"project": "proj", "value": "v", "ttl_seconds": 0}, "protocol_error", "ttl_seconds"),
            ({"project": "proj", "value": "v", "ttl_seconds": 30 * 86400 + 1}, "protocol_error", "ttl_seconds"),
            ({"project": "proj", "value": "v", "ttl_seconds": 1.5}, "protocol_error", "integer"),
            ({"project": "proj", "value": "v"}, "protocol_error", "ttl_seconds' is required"),
            ({"project": "ghost", "value": CANARY, "ttl_seconds": 60}, "project_unknown", "ghost"),
            ({"project": "proj", "value": "", "ttl_seconds": 60}, "protocol_error", "empty"),
            ({"project": "proj", "value": "x" * 65537, "ttl_seconds": 60}, "protocol_error", "65536"),
            ({"project": "proj", "value": CANARY, "value_b64": "dg==", "ttl_seconds": 60}, "protocol_error",
             "not both"),
            ({"project": "proj", "ttl_seconds": 60}, "protocol_error", "required"),
            ({"value": CANARY, "ttl_seconds": 60}, "protocol_error", "project"),
            ({"project": "proj", "value_b64": "%%%", "ttl_seconds": 60}, "protocol_error", "base64"),
            ({"project": "proj", "value": CANARY, "ttl_seconds": 60, "token": "x"}, "protocol_error", "token"),
        ]
        for fields, code, words in cases:
            reply = self.broker.admin({"op": "claim-create", **fields})
            self.assertFalse(reply["ok"], fields)
            self.assertEqual(reply["code"], code, reply)
            self.assertIn(words, reply["message"])
            self.assertNotIn(CANARY, reply["message"])
        with Connection(self.broker.project_socket("proj")) as conn:
            for request in [{"op": "claim"}, {"op": "claim", "token": 7}, {"op": "claim", "token": "rbc_x"},
                            {"op": "delete", "token": created["token"] + "A"},
                            {"op": "claim", "token": created["token"], "value": 1}]:
                reply = conn.call(request)
                self.assertEqual(reply["code"], "protocol_error", (request, reply))
                self.assertNotIn(created["token"], reply["message"])
            # The same connection still works, and the secret is still there.
            self.assertEqual(conn.call({"op": "get", "name": "GITHUB_TOKEN"})["value"], CANARY + "-bundle")
            self.assertEqual(conn.call({"op": "claim", "token": created["token"]})["value"], CANARY)
        self.assertEqual(self.broker.admin({"op": "status"})["claims_pending"], 0)
        self.assert_nothing_leaked()

    def test_gets_keep_flowing_during_a_claim_storm(self):
        tokens = self.create_many(300)
        order = list(tokens)
        stop = threading.Event()

        def claimer(offset):
            with Connection(self.broker.project_socket("proj"), timeout=30) as conn:
                for token in order[offset::16]:
                    if stop.is_set():
                        return
                    conn.call({"op": "claim", "token": token})

        threads = [threading.Thread(target=claimer, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        latencies = []
        with Connection(self.broker.project_socket("proj")) as conn:
            while any(t.is_alive() for t in threads):
                began = time.monotonic()
                self.assertTrue(conn.call({"op": "get", "name": "GITHUB_TOKEN"})["ok"])
                latencies.append(time.monotonic() - began)
        stop.set()
        for t in threads:
            t.join()
        latencies.sort()
        print(f"get during claim storm: {len(latencies)} gets, median {latencies[len(latencies) // 2] * 1e6:.0f} us")
        self.assertGreater(len(latencies), 10)


if __name__ == "__main__":
    unittest.main(verbosity=2)
