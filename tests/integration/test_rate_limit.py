"""Per-project rate limits (issue 4) against the real daemon: a token bucket per project on get and info,
the broker default from flags or the config file, tightened (never loosened) by a manifest's [limits],
picked up by reload. Excess gets `rate_limited` with an integer retry_after_seconds >= 1 and is audited.
"""

import os
import shutil
import subprocess
import tempfile
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import BROKER, CANARY, Broker, Connection, write_manifest  # noqa: E402

SECRETS = {"TOKEN": CANARY + "-token"}


def burst_of(connection, count):
    """Pipelines count gets and returns the replies."""
    connection.send_raw(b'{"op":"get","name":"TOKEN"}\n' * count)
    return [connection.reply() for _ in range(count)]


class RateLimitTest(unittest.TestCase):
    def start(self, *extra_args):
        broker = Broker(extra_args=list(extra_args)).start()
        self.addCleanup(broker.cleanup)
        self.assertTrue(broker.push(SECRETS)["ok"])
        return broker

    def scratch(self):
        path = tempfile.mkdtemp(prefix="remo-rate-")
        self.addCleanup(shutil.rmtree, path, True)
        return os.path.realpath(path)

    def register(self, broker, name, limits=""):
        project_dir = broker.sandbox / "projects" / name
        write_manifest(project_dir, name, ["TOKEN"], limits)
        reply = broker.admin({"op": "register", "name": name, "project_path": str(project_dir)})
        self.assertTrue(reply["ok"], reply)
        return project_dir

    def project_limits(self, broker, name):
        return next(p for p in broker.admin({"op": "status"})["projects"] if p["name"] == name)["rate_limit"]

    def test_excess_is_refused_with_retry_after_and_audited_and_projects_are_isolated(self):
        broker = self.start("--requests-per-second", "2", "--burst", "5")
        self.register(broker, "busy")
        self.register(broker, "quiet")
        self.assertEqual(broker.admin({"op": "status"})["rate_limit"], {"requests_per_second": 2, "burst": 5})

        with Connection(broker.project_socket("busy")) as c:
            replies = burst_of(c, 8)
        served = [r for r in replies if r["ok"]]
        refused = [r for r in replies if not r["ok"]]
        self.assertEqual(len(served), 5, "the bucket holds the burst")
        self.assertTrue(all(r["value"] == SECRETS["TOKEN"] for r in served))
        self.assertEqual(len(refused), 3)
        for reply in refused:
            self.assertEqual(reply["code"], "rate_limited")
            self.assertIsInstance(reply["retry_after_seconds"], int)
            self.assertGreaterEqual(reply["retry_after_seconds"], 1)
            self.assertNotIn("value", reply)

        # Another project's bucket is untouched by the flood; ping has a bucket of its own.
        with Connection(broker.project_socket("quiet")) as c:
            self.assertTrue(all(r["ok"] for r in burst_of(c, 5)))
        with Connection(broker.project_socket("busy")) as c:
            self.assertTrue(all(c.call({"op": "ping"})["ok"] for _ in range(20)))

        events = broker.wait_audit(lambda e: e.get("outcome") == "rate_limited")
        self.assertTrue(events)
        time.sleep(0.2)
        time.sleep(1.0)  # refusals past the first of a second are counted into one audit.suppressed line
        events = [e for e in broker.audit_events() if e.get("outcome") == "rate_limited"]
        full = [e for e in events if e["event"] != "audit.suppressed"]
        counted = sum(e["count"] for e in events if e["event"] == "audit.suppressed")
        self.assertEqual(len(full) + counted, 3)
        for event in full:
            self.assertEqual((event["event"], event["project"], event["decision"]), ("secret.get", "busy", "deny"))
            self.assertGreaterEqual(event["retry_after_seconds"], 1)

        # After the advertised wait the project is served again.
        time.sleep(refused[-1]["retry_after_seconds"])
        self.assertEqual(broker.project("busy", {"op": "get", "name": "TOKEN"})["value"], SECRETS["TOKEN"])
        self.assertNotIn(CANARY, broker.stderr())
        self.assertNotIn(CANARY, broker.audit_log.read_text())

    def test_manifest_limits_tighten_but_never_loosen_and_reload_changes_them(self):
        broker = self.start("--requests-per-second", "5", "--burst", "10")
        tight_dir = self.register(broker, "tight", "[limits]\nrequests_per_second = 1\nburst = 2\n")
        self.register(broker, "loose", "[limits]\nrequests_per_second = 100000\nburst = 1000\n")
        self.assertEqual(self.project_limits(broker, "tight"), {"requests_per_second": 1, "burst": 2})
        self.assertEqual(self.project_limits(broker, "loose"), {"requests_per_second": 5, "burst": 10},
                         "a manifest cannot loosen the broker default")
        self.assertIn("can only tighten", broker.stderr())

        with Connection(broker.project_socket("tight")) as c:
            self.assertEqual([r["ok"] for r in burst_of(c, 3)], [True, True, False])
        with Connection(broker.project_socket("loose")) as c:
            self.assertEqual(sum(r["ok"] for r in burst_of(c, 12)), 10)

        # reload picks up a changed [limits] table, and its removal.
        write_manifest(tight_dir, "tight", ["TOKEN"], "[limits]\nburst = 4\n")
        reloaded = broker.admin({"op": "reload", "name": "tight"})
        self.assertEqual(reloaded["rate_limit"], {"requests_per_second": 5, "burst": 4})
        time.sleep(1.0)  # refill at 5/s, capped at the new burst
        with Connection(broker.project_socket("tight")) as c:
            self.assertEqual(sum(r["ok"] for r in burst_of(c, 6)), 4)
        write_manifest(tight_dir, "tight", ["TOKEN"])
        self.assertEqual(broker.admin({"op": "reload", "name": "tight"})["rate_limit"],
                         {"requests_per_second": 5, "burst": 10})
        self.assertTrue(broker.wait_audit(lambda e: e["event"] == "project.reload" and e["rate_limit"]
                                          == {"requests_per_second": 5, "burst": 10}))

        # A bad [limits] table is refused naming the key; the limits in force stay.
        for table, key in (("[limits]\nrequests_per_second = 0\n", "limits.requests_per_second"),
                           ("[limits]\nburst = \"many\"\n", "limits.burst"),
                           ("[limits]\nburst = 2000000\n", "limits.burst"),
                           ("[limits]\nrequests_per_second = 1.5\n", "limits.requests_per_second"),
                           ("[limits]\nper_minute = 3\n", "limits.per_minute"),
                           ("[[limits]]\nburst = 1\n", "limits: expected a table")):
            write_manifest(tight_dir, "tight", ["TOKEN"], table)
            reply = broker.admin({"op": "reload", "name": "tight"})
            self.assertEqual(reply["code"], "manifest_invalid", table)
            self.assertIn(key, reply["message"], table)
            self.assertEqual(self.project_limits(broker, "tight"), {"requests_per_second": 5, "burst": 10})

    def test_limits_survive_restart_from_the_manifest(self):
        broker = self.start("--requests-per-second", "50", "--burst", "10")
        self.register(broker, "tight", "[limits]\nrequests_per_second = 1\nburst = 1\n")
        broker.stop()
        broker.start()
        self.assertEqual(self.project_limits(broker, "tight"), {"requests_per_second": 1, "burst": 1})
        with Connection(broker.project_socket("tight")) as c:
            self.assertEqual([r["ok"] for r in burst_of(c, 2)], [True, False])

    def test_zero_disables_the_default_and_a_manifest_can_still_set_one(self):
        broker = self.start("--requests-per-second", "0")
        self.register(broker, "open")
        self.register(broker, "own", "[limits]\nrequests_per_second = 1\nburst = 3\n")
        self.assertIsNone(broker.admin({"op": "status"})["rate_limit"])
        self.assertIsNone(self.project_limits(broker, "open"))
        with Connection(broker.project_socket("open")) as c:
            self.assertTrue(all(r["ok"] for r in burst_of(c, 1000)))
        with Connection(broker.project_socket("own")) as c:
            self.assertEqual(sum(r["ok"] for r in burst_of(c, 10)), 3)

    def test_default_comes_from_the_config_file_and_flags_override_it(self):
        config = os.path.join(self.scratch(), "config.toml")
        with open(config, "w") as f:
            f.write("requests_per_second = 3\nburst = 4\n")
        broker = self.start("--config", str(config))
        self.assertEqual(broker.admin({"op": "status"})["rate_limit"], {"requests_per_second": 3, "burst": 4})
        overridden = self.start("--config", str(config), "--burst", "7")
        self.assertEqual(overridden.admin({"op": "status"})["rate_limit"], {"requests_per_second": 3, "burst": 7})
        default = self.start()
        self.assertEqual(default.admin({"op": "status"})["rate_limit"], {"requests_per_second": 100, "burst": 200})

    def test_bad_limit_settings_refuse_to_start(self):
        sandbox = self.scratch()
        for args, code in ((["--requests-per-second", "-1"], 2), (["--burst", "0"], 2),
                           (["--requests-per-second", "fast"], 2), (["--burst", "99999999"], 2)):
            run = subprocess.run([BROKER, "--sandbox", sandbox] + args, capture_output=True, text=True,
                                 timeout=10)
            self.assertEqual(run.returncode, code, args)
            self.assertIn(args[0], run.stderr)
            self.assertEqual(len(run.stderr.strip().splitlines()), 1, run.stderr)
        config = os.path.join(sandbox, "bad.toml")
        with open(config, "w") as f:
            f.write('burst = "lots"\n')
        run = subprocess.run([BROKER, "--sandbox", sandbox, "--config", config], capture_output=True,
                             text=True, timeout=10)
        self.assertEqual(run.returncode, 1)
        self.assertIn("burst must be an integer", run.stderr)


if __name__ == "__main__":
    unittest.main()
