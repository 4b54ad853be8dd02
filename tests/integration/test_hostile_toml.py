"""Hostile container, finding 7: the manifest parser reaches undefined behaviour.

The attacker writes its manifest, so every byte of it is hostile. Text that drives toml++ 3.3 into
__builtin_unreachable must be refused by the broker's own guard before toml++ sees it. In the Release build
that UB may happen to answer `manifest_invalid`; in the ASan+UBSan build (dev/test.sh --sanitize) the daemon
aborts on it, which is how this test fails without the guard.
"""

import base64
import unittest

import harness
import hostile

# Found by `dev/fuzz.sh --time 150 --jobs 2 manifest`: a date-like value, a space and a digit make toml++
# scan on past `]`, NULs and a quote into U+FEFD, which its whitespace test does not handle.
FUZZ_FINDING = base64.b64decode(
    "d2NoZW1hX3Y9MTk3OS0wNS0pNSAyXQAAJyEAAAAAAAAAAAAAAFxVAAAAAAAAAADvu70AAAAAAAAAAAAAAAAAAAAAAAAAAACVYFpIIiIiTwo=")
# The same divergence with no control character in it.
DATE_SCAN_PAST_BRACKET = "a = 1979-05-27 0]'\ufefd'\n".encode()
NUL_IN_STRING = b'schema_version = 1\n[project]\nname = "webapp\x00"\n'


class HostileManifestBytesTest(unittest.TestCase):
    def setUp(self):
        hostile.require_root(self)
        self.broker = hostile.HostileBroker().start()
        self.addCleanup(self.broker.cleanup)
        self.assertTrue(self.broker.push({"GITHUB_TOKEN": "ghp-" + harness.CANARY})["ok"])
        self.assertTrue(self.broker.register_attacker_project("webapp", ["GITHUB_TOKEN"])["ok"])
        self.assertTrue(self.broker.register("bystander", ["GITHUB_TOKEN"])["ok"])

    def plant(self, content: bytes):
        hostile.attack("""
            with open(params["path"], "wb") as f:
                f.write(bytes.fromhex(params["hex"]))
            result = True
        """, path=str(self.broker.manifest_path("webapp")), hex=content.hex())

    def test_hostile_bytes_are_refused_by_the_guard_and_nothing_else_changes(self):
        for content in (FUZZ_FINDING, DATE_SCAN_PAST_BRACKET, NUL_IN_STRING):
            with self.subTest(content=content[:24]):
                self.plant(content)
                reply = self.broker.admin({"op": "reload", "name": "webapp"})
                self.assertEqual(reply.get("code"), "manifest_invalid", reply)
                self.assertNotIn(harness.CANARY, str(reply))
                self.assertIsNone(self.broker.proc.poll(), "the broker died on a hostile manifest")
                self.assertTrue(self.broker.project("bystander", {"op": "get", "name": "GITHUB_TOKEN"})["ok"])
                reply = hostile.attack('result = call(params["s"], {"op": "get", "name": "GITHUB_TOKEN"})',
                                       s=str(self.broker.project_socket("webapp")))
                self.assertTrue(reply["ok"], "the approved policy keeps serving after a refused reload")

    def test_guard_names_the_offset_not_the_text(self):
        self.plant(DATE_SCAN_PAST_BRACKET)
        reply = self.broker.admin({"op": "reload", "name": "webapp"})
        self.assertEqual(reply.get("code"), "manifest_invalid", reply)
        self.assertIn("byte", reply["message"])
        self.assertNotIn("\ufefd", reply["message"])


if __name__ == "__main__":
    unittest.main()
