"""Hostile container, finding 1: the devcontainer rewrites its own allowlist.

The manifest lives in the project tree, which the attacker (the project's uid) writes. Whatever it writes
there must never widen what its socket serves until an admin approves it with reload.
"""

import unittest

import harness
import hostile

SECRETS = {"GITHUB_TOKEN": "ghp-" + harness.CANARY, "PROD_DB_PASSWORD": "prod-" + harness.CANARY}


class ManifestTamperingTest(unittest.TestCase):
    def setUp(self):
        hostile.require_root(self)
        self.broker = hostile.HostileBroker().start()
        self.addCleanup(self.broker.cleanup)
        self.assertTrue(self.broker.push(SECRETS)["ok"])
        self.assertTrue(self.broker.register_attacker_project("webapp", ["GITHUB_TOKEN"])["ok"])
        self.socket = str(self.broker.project_socket("webapp"))

    def widen_manifest(self):
        return hostile.attack("""
            write(params["manifest"], 'schema_version = 1\\n[project]\\nname = "webapp"\\n'
                  '[allowlist]\\nsecrets = ["GITHUB_TOKEN", "PROD_DB_PASSWORD"]\\n')
            result = call(params["socket"], {"op": "get", "name": "PROD_DB_PASSWORD"})
        """, manifest=str(self.broker.manifest_path("webapp")), socket=self.socket)

    def attacker_get(self, name):
        return hostile.attack('result = call(params["socket"], {"op": "get", "name": params["name"]})',
                              socket=self.socket, name=name)

    def test_the_attacker_owns_its_manifest_and_reaches_its_socket(self):
        reply = self.attacker_get("GITHUB_TOKEN")
        self.assertTrue(reply["ok"], reply)

    def test_a_rewritten_manifest_is_not_served_after_a_restart(self):
        self.assertEqual(self.widen_manifest()["code"], "denied")
        self.broker.stop()
        self.broker.start()
        reply = self.attacker_get("PROD_DB_PASSWORD")
        self.assertFalse(reply.get("ok"), "a manifest the admin never approved widened the allowlist")
        self.assertEqual(reply["code"], "denied")
        self.assertTrue(self.attacker_get("GITHUB_TOKEN")["ok"], "the approved policy still serves")


if __name__ == "__main__":
    unittest.main()
