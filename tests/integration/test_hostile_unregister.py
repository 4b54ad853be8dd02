"""Hostile container, finding 6a: one-shot secrets outlive their project.

A one-shot secret is created for a project name. If unregister left it pending, whoever registers that name
next (another team's devcontainer, or the same attacker re-registered by a careless admin) could claim it
with a token it saw before. unregister revokes every pending one-shot secret of the project, durably, each
audited as claim.revoke with "reason":"unregister"; register revokes any a former project of that name left.
"""

import signal
import unittest

import harness
import hostile

VALUE = "one-shot-" + harness.CANARY


class UnregisterRevokesPendingClaimsTest(unittest.TestCase):
    def setUp(self):
        hostile.require_root(self)
        self.broker = hostile.HostileBroker().start()
        self.addCleanup(self.broker.cleanup)
        self.assertTrue(self.broker.register_attacker_project("webapp", [])["ok"])
        self.assertTrue(self.broker.register("neighbour", [])["ok"])

    def create(self, project):
        reply = self.broker.admin({"op": "claim-create", "project": project, "value": VALUE, "ttl_seconds": 3600})
        self.assertTrue(reply["ok"], reply)
        return reply

    def attacker_claims(self, token):
        return hostile.attack('result = call(params["socket"], {"op": "claim", "token": params["token"]})',
                              socket=str(self.broker.project_socket("webapp")), token=token)

    def states(self):
        return {c["claim_id"]: c["state"] for c in self.broker.admin({"op": "claim-list"})["claims"]}

    def reregister(self, restart_between):
        self.assertTrue(self.broker.admin({"op": "unregister", "name": "webapp"})["ok"])
        if restart_between:
            self.broker.stop(restart_between)
            self.broker.start()
        self.assertTrue(self.broker.register_attacker_project("webapp", [])["ok"])

    def check_old_tokens_are_dead(self, restart_between):
        mine = [self.create("webapp") for _ in range(3)]
        theirs = self.create("neighbour")
        self.reregister(restart_between)
        for ticket in mine:
            reply = self.attacker_claims(ticket["token"])
            self.assertFalse(reply.get("ok"), "a re-registered name claimed a one-shot secret of the old project")
            self.assertEqual(reply["code"], "not_found")
            self.assertEqual(self.states()[ticket["claim_id"]], "revoked")
        self.assertEqual(self.states()[theirs["claim_id"]], "pending", "another project's secret is untouched")
        revoked = [e for e in self.broker.audit_events() if e["event"] == "claim.revoke"]
        self.assertEqual(sorted(e["claim_id"] for e in revoked), sorted(t["claim_id"] for t in mine))
        for event in revoked:
            self.assertEqual((event["reason"], event["project"], event["outcome"]), ("unregister", "webapp", "ok"))
        self.assertEqual(self.broker.files_containing(harness.CANARY.encode()), [])

    def test_a_reregistered_name_cannot_claim_the_old_tokens(self):
        self.check_old_tokens_are_dead(restart_between=None)

    def test_nor_after_a_restart(self):
        self.check_old_tokens_are_dead(restart_between=signal.SIGTERM)

    def test_nor_after_sigkill(self):
        self.check_old_tokens_are_dead(restart_between=signal.SIGKILL)

    def test_claims_pending_counts_none_left_for_the_unregistered_project(self):
        self.create("webapp")
        self.assertEqual(self.broker.admin({"op": "status"})["claims_pending"], 1)
        self.assertTrue(self.broker.admin({"op": "unregister", "name": "webapp"})["ok"])
        self.assertEqual(self.broker.admin({"op": "status"})["claims_pending"], 0)

    def test_unregister_of_an_unknown_project_revokes_nothing(self):
        ticket = self.create("neighbour")
        reply = self.broker.admin({"op": "unregister", "name": "ghost"})
        self.assertEqual(reply["code"], "project_unknown")
        self.assertEqual(self.states()[ticket["claim_id"]], "pending")


if __name__ == "__main__":
    unittest.main()
