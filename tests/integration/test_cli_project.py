"""remo-brokerctl get, exec and claim inside a "devcontainer" (the project socket of a real broker).

Proves: get prints exactly the value (binary too) and maps every broker code to its exit status; exec puts
values in the child's environment only (never in any argv, sampled from /proc while the child runs) and
returns the child's status; claim takes its token from $REMO_CLAIM_TOKEN or stdin, warns when it is in argv,
and never echoes a token."""

import hashlib
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import CANARY, Broker  # noqa: E402
from cli_harness import ArgvWatcher, ctl  # noqa: E402

SECRETS = {"GITHUB_TOKEN": CANARY + "-github", "SPACED": "two words\nand a line", "BLOB": b"\x00\x01\xfe\xff",
           "NPM_TOKEN": CANARY + "-npm", "ESCAPED": 'q"uote \\back\tslash \x01 caf\u00e9 \u2603'}
ALLOW = ["GITHUB_TOKEN", "SPACED", "BLOB", "MISSING", "ESCAPED"]


class ProjectCli(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker().start()
        assert cls.broker.push(SECRETS)["ok"]
        assert cls.broker.register("myrepo", ALLOW)["ok"]
        cls.env = {"REMO_BROKER_SOCKET": str(cls.broker.project_socket("myrepo"))}

    @classmethod
    def tearDownClass(cls):
        cls.broker.cleanup()

    def run_ctl(self, *args, input=None, env=None):
        return ctl(*args, input=input, env={**self.env, **(env or {})})

    def test_get_prints_the_value(self):
        self.assertEqual(self.run_ctl("get", "GITHUB_TOKEN").stdout, (CANARY + "-github\n").encode())
        self.assertEqual(self.run_ctl("get", "-n", "SPACED").stdout, b"two words\nand a line")
        self.assertEqual(self.run_ctl("get", "-n", "BLOB").stdout, b"\x00\x01\xfe\xff")
        # JSON escapes in the reply (quote, backslash, control characters) and UTF-8 come back byte for byte.
        self.assertEqual(self.run_ctl("get", "-n", "ESCAPED").stdout, SECRETS["ESCAPED"].encode())

    def test_get_failures_map_to_exit_statuses(self):
        denied = self.run_ctl("get", "NPM_TOKEN")
        self.assertEqual((denied.returncode, denied.stdout), (10, b""))
        self.assertIn(b"denied", denied.stderr)
        self.assertNotIn(CANARY.encode(), denied.stderr)
        self.assertEqual(self.run_ctl("get", "MISSING").returncode, 11)
        self.assertEqual(self.run_ctl("get", "bad-name").returncode, 2)
        self.assertEqual(self.run_ctl("get").returncode, 2)
        gone = self.run_ctl("get", "GITHUB_TOKEN", env={"REMO_BROKER_SOCKET": "/nonexistent/project.sock"})
        self.assertEqual(gone.returncode, 3)
        self.assertIn(b"/nonexistent/project.sock", gone.stderr)
        flag = self.run_ctl("get", "GITHUB_TOKEN", "--socket", str(self.broker.project_socket("myrepo")),
                            env={"REMO_BROKER_SOCKET": "/nonexistent"})
        self.assertEqual(flag.returncode, 0)

    def test_exec_puts_values_in_the_child_environment_only(self):
        # The child reports digests of what it got, so neither side's output holds a value.
        probe = ("import hashlib,os,sys,time; time.sleep(0.5); "
                 "sys.stdout.write(hashlib.sha256(os.environ['GITHUB_TOKEN'].encode()).hexdigest() + ' ' + "
                 "hashlib.sha256(os.environ['TOKEN_AS'].encode()).hexdigest() + ' ' + str('SPACED' in os.environ))")
        with ArgvWatcher() as watcher:
            result = self.run_ctl("exec", "--env", "GITHUB_TOKEN", "--env", "SPACED=TOKEN_AS", "--",
                                  sys.executable, "-c", probe)
        self.assertEqual(result.returncode, 0, result.stderr)
        expected = hashlib.sha256(SECRETS["GITHUB_TOKEN"].encode()).hexdigest()
        spaced = hashlib.sha256(SECRETS["SPACED"].encode()).hexdigest()
        self.assertEqual(result.stdout.decode(), f"{expected} {spaced} False")
        self.assertTrue(watcher.containing(b"TOKEN_AS"), "the exec process was not observed")
        self.assertEqual(watcher.containing(CANARY.encode()), [])
        self.assertEqual(watcher.containing(b"two words"), [])

    def test_exec_overrides_an_inherited_variable_and_passes_the_child_status(self):
        result = self.run_ctl("exec", "--env", "GITHUB_TOKEN", "--", "sh", "-c",
                              'test "$GITHUB_TOKEN" != stale && exit 7', env={"GITHUB_TOKEN": "stale"})
        self.assertEqual(result.returncode, 7)

    def test_exec_failures(self):
        denied = self.run_ctl("exec", "--env", "NPM_TOKEN", "--", "sh", "-c", "echo ran")
        self.assertEqual((denied.returncode, denied.stdout), (10, b""))
        self.assertEqual(self.run_ctl("exec", "--env", "GITHUB_TOKEN", "--", "/nonexistent/cmd").returncode, 127)
        nul = self.run_ctl("exec", "--env", "BLOB", "--", "true")
        self.assertEqual(nul.returncode, 2)
        self.assertIn(b"NUL byte", nul.stderr)
        self.assertEqual(self.run_ctl("exec", "--env", "GITHUB_TOKEN", "true").returncode, 2)
        self.assertEqual(self.run_ctl("exec", "--env", "GITHUB_TOKEN=1BAD", "--", "true").returncode, 2)
        self.assertEqual(self.run_ctl("exec", "--").returncode, 2)

    def test_claim_token_sources(self):
        token = "tok_" + CANARY.replace("-", "_")
        from_env = self.run_ctl("claim", env={"REMO_CLAIM_TOKEN": token})
        if b"is not implemented by this broker version yet" in from_env.stderr:
            self.skipTest("claim is not on this branch yet")
        self.assertNotEqual(from_env.returncode, 0)  # no such claim
        self.assertNotIn(CANARY.encode(), from_env.stderr + from_env.stdout)
        from_stdin = self.run_ctl("claim", input=token + "\n")
        self.assertNotEqual(from_stdin.returncode, 0)
        self.assertNotIn(CANARY.encode(), from_stdin.stderr)

    def test_claim_warns_about_argv_and_checks_the_token(self):
        in_argv = self.run_ctl("claim", "abc123")
        self.assertIn(b"visible to every process", in_argv.stderr)
        bad = self.run_ctl("claim", input=b"has space " + CANARY.encode())
        self.assertEqual(bad.returncode, 2)
        self.assertNotIn(CANARY.encode(), bad.stderr)
        self.assertEqual(self.run_ctl("claim", input=b"").returncode, 2)

    def test_help_lists_exit_statuses(self):
        for command in ("get", "exec", "claim"):
            helped = self.run_ctl(command, "--help")
            self.assertEqual(helped.returncode, 0)
            self.assertIn(b"10 denied", helped.stdout)


if __name__ == "__main__":
    unittest.main()
