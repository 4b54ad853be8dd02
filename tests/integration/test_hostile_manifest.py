"""Hostile container, finding 1: the devcontainer rewrites its own allowlist.

The manifest lives in the project tree, which the attacker (the project's uid) writes. Whatever it writes
there must never widen what its socket serves until an admin approves it with reload: not after a restart
(clean or killed), not after a dry-run reload, whatever form the rewrite takes. Each distinct rewrite is
reported once (manifest.changed), and status shows what reload would change.
"""

import hashlib
import json
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import unittest

import harness
import hostile

SECRETS = {"GITHUB_TOKEN": "ghp-" + harness.CANARY, "PROD_DB_PASSWORD": "prod-" + harness.CANARY}
WIDENED = ('schema_version = 1\n[project]\nname = "webapp"\n'
           '[allowlist]\nsecrets = ["GITHUB_TOKEN", "PROD_DB_PASSWORD"]\n')
APPROVED_LIMITS = "[limits]\nrequests_per_second = 5\nburst = 5\n"
SHADOW_TEXT = "root:$6$secret-hash-" + harness.CANARY + ":19000:0:99999:7:::\n"


class ManifestTamperingTest(unittest.TestCase):
    def setUp(self):
        hostile.require_root(self)
        self.broker = hostile.HostileBroker().start()
        self.addCleanup(self.broker.cleanup)
        self.assertTrue(self.broker.push(SECRETS)["ok"])
        self.assertTrue(self.broker.register_attacker_project("webapp", ["GITHUB_TOKEN"], APPROVED_LIMITS)["ok"])
        self.socket = str(self.broker.project_socket("webapp"))
        self.manifest = self.broker.manifest_path("webapp")
        self.approved_status = self.project_status()

    # --- helpers --------------------------------------------------------------------------------------

    def widen_manifest(self):
        return hostile.attack("""
            write(params["manifest"], params["text"])
            result = call(params["socket"], {"op": "get", "name": "PROD_DB_PASSWORD"})
        """, manifest=str(self.manifest), socket=self.socket, text=WIDENED)

    def attacker_get(self, name):
        return hostile.attack('result = call(params["socket"], {"op": "get", "name": params["name"]})',
                              socket=self.socket, name=name)

    def attacker_runs(self, script, **params):
        """A file-system rewrite done as the attacker's uid (it owns the tree)."""
        return hostile.attack(script + "\nresult = True\n", **params)

    def project_status(self, name="webapp"):
        status = self.broker.admin({"op": "status"})
        self.assertTrue(status["ok"], status)
        return next(p for p in status["projects"] if p["name"] == name)

    def restart(self, sig=signal.SIGTERM):
        self.broker.stop(sig)
        self.broker.start()

    def manifest_changed_events(self):
        return [e for e in self.broker.audit_events() if e["event"] == "manifest.changed"]

    def assert_served_unchanged(self, context):
        denied = self.attacker_get("PROD_DB_PASSWORD")
        self.assertFalse(denied.get("ok"), f"{context}: a manifest the admin never approved widened the allowlist")
        self.assertEqual(denied["code"], "denied", context)
        self.assertTrue(self.attacker_get("GITHUB_TOKEN")["ok"], f"{context}: the approved policy still serves")
        now = self.project_status()
        for key in ("allowlist_size", "rate_limit", "manifest_sha256", "project_path", "uids", "gid"):
            self.assertEqual(now.get(key), self.approved_status.get(key), f"{context}: {key} changed")

    def assert_no_canary_anywhere(self):
        self.assertEqual(self.broker.files_containing(harness.CANARY.encode()), [])
        self.assertNotIn(harness.CANARY, json.dumps(self.broker.admin({"op": "status"})))

    # --- the attack and its restarts ------------------------------------------------------------------

    def test_the_attacker_owns_its_manifest_and_reaches_its_socket(self):
        reply = self.attacker_get("GITHUB_TOKEN")
        self.assertTrue(reply["ok"], reply)

    def test_a_rewritten_manifest_is_not_served_after_a_restart(self):
        self.assertEqual(self.widen_manifest()["code"], "denied")
        self.restart()
        self.assert_served_unchanged("after SIGTERM and start")

    def test_a_rewritten_manifest_is_not_served_after_sigkill(self):
        self.assertEqual(self.widen_manifest()["code"], "denied")
        self.restart(signal.SIGKILL)
        self.assert_served_unchanged("after SIGKILL and start")
        self.restart(signal.SIGKILL)
        self.assert_served_unchanged("after a second SIGKILL")

    def test_a_dry_run_reload_shows_the_diff_and_applies_nothing(self):
        self.widen_manifest()
        reply = self.broker.admin({"op": "reload", "name": "webapp", "dry_run": True})
        self.assertTrue(reply["ok"], reply)
        self.assertTrue(reply["dry_run"])
        self.assertEqual(reply["added"], ["PROD_DB_PASSWORD"])
        self.assertEqual(reply["removed"], [])
        self.assertEqual(reply["allowlist"], ["GITHUB_TOKEN"], "the allowlist in force")
        self.assertIn("limits.burst", reply["changed"])
        self.assert_served_unchanged("after a dry-run reload")
        self.restart()
        self.assert_served_unchanged("after a dry-run reload and a restart")

    def test_a_manifest_swapped_after_the_admin_reviewed_it_is_not_approved(self):
        # The admin reviews a benign change with a dry run; the attacker swaps in a wider manifest before the
        # approval. Approving what was reviewed (its SHA-256) must refuse what is there now.
        benign = self.manifest.read_text() + "# reviewed\n"
        self.attacker_runs('write(params["m"], params["t"])', m=str(self.manifest), t=benign)
        reviewed = self.broker.admin({"op": "reload", "name": "webapp", "dry_run": True})
        self.assertEqual(reviewed["added"], [], reviewed)
        self.widen_manifest()
        reply = self.broker.admin({"op": "reload", "name": "webapp",
                                   "expect_manifest_sha256": reviewed["manifest_sha256"]})
        self.assertEqual(reply.get("code"), "manifest_invalid", reply)
        self.assertIn("changed since it was reviewed", reply["message"])
        self.assert_served_unchanged("after an approval of a swapped manifest")

    def test_register_approves_only_the_reviewed_manifest_and_shows_what_it_approved(self):
        import hashlib
        reviewed = hashlib.sha256(self.manifest.read_bytes()).hexdigest()
        self.assertTrue(self.broker.admin({"op": "unregister", "name": "webapp"})["ok"])
        self.attacker_runs('write(params["m"], params["t"])', m=str(self.manifest), t=WIDENED)
        request = {"op": "register", "name": "webapp", "project_path": str(self.broker.project_dir("webapp")),
                   "uids": [hostile.ATTACKER_UID], "gid": hostile.ATTACKER_GID}
        reply = self.broker.admin(dict(request, expect_manifest_sha256=reviewed))
        self.assertEqual(reply.get("code"), "manifest_invalid", reply)
        self.assertFalse(self.broker.project_socket("webapp").exists(), "nothing registered")
        reply = self.broker.admin(request)
        self.assertEqual(reply["allowlist"], ["GITHUB_TOKEN", "PROD_DB_PASSWORD"], "register shows what it approved")

    def test_status_shows_the_drift_and_an_admin_reload_approves_it(self):
        self.widen_manifest()
        drift = self.project_status()["manifest_drift"]
        self.assertEqual(drift["added"], ["PROD_DB_PASSWORD"])
        self.assertEqual(drift["removed"], [])
        self.assertEqual(drift["changed"]["limits.requests_per_second"], {"from": 5, "to": None})
        self.assertEqual(drift["manifest_sha256"], hashlib.sha256(WIDENED.encode()).hexdigest())
        done = subprocess.run([str(harness.BROKERCTL), "admin", "reload", "webapp", "--dry-run",
                               "--socket", str(self.broker.admin_socket)], capture_output=True, text=True)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("+ PROD_DB_PASSWORD\n", done.stdout)
        self.assertIn("nothing applied", done.stdout)
        self.assert_served_unchanged("after remo-brokerctl admin reload --dry-run")
        done = subprocess.run([str(harness.BROKERCTL), "admin", "reload", "webapp",
                               "--socket", str(self.broker.admin_socket)], capture_output=True, text=True)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("+ PROD_DB_PASSWORD\n", done.stdout)
        self.assertTrue(self.attacker_get("PROD_DB_PASSWORD")["ok"], "the admin approved it")
        self.assertIsNone(self.project_status()["manifest_drift"])
        self.restart()
        self.assertTrue(self.attacker_get("PROD_DB_PASSWORD")["ok"], "the approval survives a restart")

    def test_manifest_changed_is_audited_once_per_distinct_content(self):
        self.widen_manifest()
        for _ in range(3):
            self.project_status()
        self.restart()
        self.project_status()
        self.assertTrue(self.broker.admin({"op": "reload", "name": "webapp", "dry_run": True})["ok"])
        self.restart(signal.SIGKILL)
        self.project_status()
        events = self.manifest_changed_events()
        self.assertEqual(len(events), 1, events)
        self.assertEqual(events[0]["project"], "webapp")
        self.assertEqual(events[0]["added"], ["PROD_DB_PASSWORD"])
        self.assertEqual(events[0]["decision"], "deny")
        self.assertEqual(events[0]["manifest_sha256"], hashlib.sha256(WIDENED.encode()).hexdigest())
        self.attacker_runs('write(params["manifest"], params["text"])', manifest=str(self.manifest),
                           text=WIDENED.replace('"PROD_DB_PASSWORD"', '"PROD_DB_PASSWORD", "AWS_KEY"'))
        self.restart()
        self.project_status()
        self.assertEqual(len(self.manifest_changed_events()), 2, "a second distinct content is reported once")

    # --- the attacker's variants: each must change nothing served ---------------------------------------

    def check_variant(self, script, **params):
        self.attacker_runs(script, **params)
        reload = self.broker.admin({"op": "reload", "name": "webapp", "dry_run": True})
        self.restart()
        self.assert_served_unchanged(f"variant {script!r}")
        drift = self.project_status()["manifest_drift"]
        self.assertIsNotNone(drift, "status shows the manifest differs")
        self.assertEqual(len(self.manifest_changed_events()), 1, "reported once")
        self.assert_no_canary_anywhere()
        return reload, drift

    def test_variant_limits_that_loosen(self):
        reload, drift = self.check_variant(
            'write(params["manifest"], params["text"])', manifest=str(self.manifest),
            text=WIDENED.replace(', "PROD_DB_PASSWORD"', "") +
            "[limits]\nrequests_per_second = 1000000\nburst = 1000000\n")
        self.assertEqual(drift["added"], [])
        self.assertEqual(drift["changed"]["limits.burst"], {"from": 5, "to": 1000000})

    def test_variant_manifest_removed(self):
        reload, drift = self.check_variant('os.remove(params["manifest"])', manifest=str(self.manifest))
        self.assertIn("manifest_not_found", drift["error"])
        refused = self.broker.admin({"op": "reload", "name": "webapp"})
        self.assertEqual(refused["code"], "manifest_not_found")
        self.assert_served_unchanged("after a refused reload of a removed manifest")

    def test_variant_symlink_to_another_projects_manifest(self):
        self.assertTrue(self.broker.register("prod", ["PROD_DB_PASSWORD"])["ok"])
        other = self.broker.sandbox / "projects" / "prod" / ".devcontainer" / "remo-broker.toml"
        _, drift = self.check_variant('os.remove(params["manifest"]); os.symlink(params["other"], params["manifest"])',
                                      manifest=str(self.manifest), other=str(other))
        self.assertIn("symbolic link", drift["error"])

    def test_variant_symlinked_directory_to_another_project(self):
        self.assertTrue(self.broker.register("prod", ["PROD_DB_PASSWORD"])["ok"])
        other = self.broker.sandbox / "projects" / "prod" / ".devcontainer"
        devcontainer = self.manifest.parent
        _, drift = self.check_variant(
            'import shutil; shutil.rmtree(params["dir"]); os.symlink(params["other"], params["dir"])',
            dir=str(devcontainer), other=str(other))
        self.assertIn("symbolic link", drift["error"])

    def test_variant_symlink_to_a_root_only_file(self):
        outside = pathlib.Path(tempfile.mkdtemp(prefix="remo-shadow-"))  # root's, outside the sandbox
        self.addCleanup(shutil.rmtree, outside, True)
        shadow = outside / "shadow"
        shadow.write_text(SHADOW_TEXT)
        os.chmod(shadow, 0o600)
        _, drift = self.check_variant('os.remove(params["manifest"]); os.symlink(params["target"], params["manifest"])',
                                      manifest=str(self.manifest), target=str(shadow))
        self.assertIn("symbolic link", drift["error"])
        self.assertNotIn("secret-hash", self.broker.stderr())
        self.assertNotIn("secret-hash", json.dumps(self.broker.audit_events()))

    def test_variant_fallback_location(self):
        remo_dir = self.broker.project_dir("webapp") / ".remo"
        self.check_variant(
            'import shutil; shutil.rmtree(os.path.dirname(params["manifest"])); os.mkdir(params["remo"]); '
            'write(params["remo"] + "/broker.toml", params["text"])',
            manifest=str(self.manifest), remo=str(remo_dir), text=WIDENED)

    def test_variant_huge_manifest(self):
        names = ", ".join(f'"S{i:05d}"' for i in range(9000))
        _, drift = self.check_variant('write(params["manifest"], params["text"])', manifest=str(self.manifest),
                                      text=WIDENED.replace('"PROD_DB_PASSWORD"', '"PROD_DB_PASSWORD", ' + names))
        self.assertIn("larger than", drift["error"])

    def test_variant_project_name_changed(self):
        _, drift = self.check_variant('write(params["manifest"], params["text"])', manifest=str(self.manifest),
                                      text=WIDENED.replace('name = "webapp"', 'name = "prod"'))
        self.assertIn("does not match the registered name", drift["error"])


class UpgradeFromUnrecordedPoliciesTest(unittest.TestCase):
    """A registrations.json written before policies were recorded (version 1)."""

    def test_first_start_records_the_manifest_and_says_so(self):
        hostile.require_root(self)
        broker = hostile.HostileBroker()
        self.addCleanup(broker.cleanup)
        project = broker.project_dir("webapp")
        harness.write_manifest(project, "webapp", ["GITHUB_TOKEN"])
        os.chmod(broker.sandbox / "projects", 0o711)
        for path in [project, *project.rglob("*")]:
            os.chown(path, hostile.ATTACKER_UID, hostile.ATTACKER_GID)
        state = broker.sandbox / "state"
        state.mkdir(mode=0o700, exist_ok=True)
        (state / "registrations.json").write_text(json.dumps({"version": 1, "projects": [
            {"name": "webapp", "project_path": str(project), "uids": [hostile.ATTACKER_UID],
             "gid": hostile.ATTACKER_GID}]}))
        broker.start()
        self.assertTrue(broker.push(SECRETS)["ok"])
        recorded = broker.wait_audit(lambda e: e["event"] == "policy.recorded")
        self.assertEqual(len(recorded), 1, recorded)
        self.assertEqual(recorded[0]["reason"], "upgrade")
        self.assertEqual(recorded[0]["project"], "webapp")
        self.assertEqual(recorded[0]["allowlist"], ["GITHUB_TOKEN"])
        saved = json.loads((state / "registrations.json").read_text())
        self.assertEqual(saved["version"], 2)
        self.assertEqual(saved["projects"][0]["policy"]["allowlist"], ["GITHUB_TOKEN"])

        socket = str(broker.project_socket("webapp"))
        hostile.attack('write(params["manifest"], params["text"])\nresult = True',
                       manifest=str(broker.manifest_path("webapp")), text=WIDENED)
        broker.stop()
        broker.start()
        reply = hostile.attack('result = call(params["socket"], {"op": "get", "name": "PROD_DB_PASSWORD"})',
                               socket=socket)
        self.assertEqual(reply.get("code"), "denied", "the recorded policy holds after the upgrade")
        self.assertEqual(len([e for e in broker.audit_events() if e["event"] == "policy.recorded"]), 1,
                         "recorded once, at the first start")


if __name__ == "__main__":
    unittest.main()
