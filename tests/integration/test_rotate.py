"""rotate-bootstrap and `remo-brokerctl rotate` against the real daemon and the real CLI.

The invariant under test (issue 4): a crash of the daemon or of the CLI at any step of a rotation, followed
by a restart with either the old or the new credential file, serves the full secret set or refuses loudly
(bootstrap_error in status and a critical log line), never a silent empty store; re-running
`remo-brokerctl rotate` then completes the rotation.

Crashes: REMO_TEST_CRASH_AT=<step> makes the process raise SIGKILL right after that step. The daemon honours
it in --sandbox mode only (steps in broker/lifecycle/key_rotation.hpp); the CLI honours cli-after-begin (the
broker replied, the credential file is not written yet) and cli-after-write (written, not confirmed).
"""

import os
import pathlib
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import BROKERCTL, CANARY, Broker, Connection, age_encrypt, bundle_toml  # noqa: E402

SECRETS = {"CANARY_TEXT": CANARY + "-text", "PLAIN": "plain-value", "BINARY": b"\x00\x01\xfe\xff"}
DAEMON_STEPS = ["begin-secrets", "begin-claims", "begin-marker", "confirm-claims", "confirm-secrets",
                "confirm-marker"]
CLI_STEPS = ["cli-after-begin", "cli-after-write"]


def recipient_of(identity_text: str) -> str:
    return subprocess.run(["age-keygen", "-y"], input=identity_text, capture_output=True, text=True,
                          check=True).stdout.strip()


def new_identity() -> str:
    return subprocess.run(["age-keygen"], capture_output=True, text=True, check=True).stdout


def secret_key_line(identity_text: str) -> str:
    return next(line for line in identity_text.splitlines() if line.startswith("AGE-SECRET-KEY-1"))


def age_decrypts(identity_text: str, path: pathlib.Path) -> bool:
    with tempfile.NamedTemporaryFile("w", delete=True) as key:
        key.write(identity_text)
        key.flush()
        return subprocess.run(["age", "-d", "-i", key.name, str(path)], capture_output=True).returncode == 0


class RotateBase(unittest.TestCase):
    def setUp(self):
        self.outside = pathlib.Path(tempfile.mkdtemp(prefix="remo-rotate-"))  # files the test keeps apart
        self.brokers = []

    def tearDown(self):
        for broker in self.brokers:
            broker.cleanup()
        shutil.rmtree(self.outside, ignore_errors=True)

    def start_broker(self, env=None):
        broker = Broker(env=env)
        self.brokers.append(broker)
        broker.start()
        self.assertTrue(broker.push(SECRETS)["ok"])
        self.assertTrue(broker.register("proj", list(SECRETS))["ok"])
        broker.claim_token = None
        created = broker.admin({"op": "claim-create", "project": "proj", "value": CANARY + "-oneshot",
                                "ttl_seconds": 3600})
        if created.get("ok"):  # one-shot secrets are there once the claims issue is merged
            broker.claim_token = created["token"]
        return broker

    def restart(self, broker, key_text=None, env=None):
        broker.stop(signal.SIGKILL)
        if key_text is not None:
            broker.key_file.write_text(key_text)
            os.chmod(broker.key_file, 0o600)
        broker.env = env
        broker.start()

    def rotate(self, broker, *args, env=None):
        cmd = [BROKERCTL, "rotate", "--socket", str(broker.admin_socket), "--credential-file",
               str(broker.key_file), *args]
        full_env = dict(os.environ)
        full_env.update(env or {})
        return subprocess.run(cmd, capture_output=True, text=True, env=full_env, timeout=60)

    def served(self, broker):
        """Every secret as the project socket serves it, or None for one it does not serve."""
        out = {}
        for name in SECRETS:
            reply = broker.project("proj", {"op": "get", "name": name})
            if not reply.get("ok"):
                out[name] = None
            elif "value_b64" in reply:
                import base64
                out[name] = base64.b64decode(reply["value_b64"])
            else:
                out[name] = reply["value"]
        return out

    def pending_claims(self, broker):
        listed = broker.admin({"op": "claim-list"})
        if not listed.get("ok") or not isinstance(listed.get("claims"), list):
            return None
        return [c for c in listed["claims"] if c.get("state") == "pending"]

    def outcome(self, broker) -> str:
        """'served' (every secret and the pending one-shot secret) or 'refused' (loudly); fails otherwise."""
        status = broker.admin({"op": "status"})
        self.assertTrue(status["ok"], status)
        if status["bootstrap_error"] is not None:
            self.assertEqual(status["secret_count"], 0)
            self.assertEqual(status["last_error"], status["bootstrap_error"])
            self.assertIn("critical: " + status["bootstrap_error"], broker.stderr())
            return "refused"
        self.assertEqual(self.served(broker), SECRETS, "a silent partial or empty store")
        pending = self.pending_claims(broker) if broker.claim_token is not None else None
        if pending is not None:
            self.assertEqual(len(pending), 1, "the pending one-shot secret was lost")
        return "served"

    def assert_rotated_to(self, broker, recipient):
        status = broker.admin({"op": "status"})
        self.assertIsNone(status["rotation"])
        self.assertIsNone(status["bootstrap_error"])
        self.assertEqual(status["recipient"], recipient)
        self.assertEqual(broker.admin({"op": "get-public-key"})["recipient"], recipient)
        self.assertFalse((broker.sandbox / "state" / "rotation.json").exists())
        self.assertEqual(recipient_of(broker.key_file.read_text()), recipient)

    def assert_no_key_leak(self, broker, identity_text):
        """The identity is in the credential file and nowhere else: not in logs, audit, state files."""
        needle = secret_key_line(identity_text).encode()
        hits = [p for p in broker.files_containing(needle) if p != broker.key_file]
        self.assertEqual(hits, [])
        self.assertNotIn(needle.decode(), broker.stderr())


class RotateEndToEnd(RotateBase):
    def check_complete_rotation(self, broker, old_key, new_recipient):
        self.assert_rotated_to(broker, new_recipient)
        self.assertEqual(stat.S_IMODE(broker.key_file.stat().st_mode), 0o600)
        new_key = broker.key_file.read_text()
        secrets_file = broker.sandbox / "state" / "secrets.enc"
        self.assertFalse(age_decrypts(old_key, secrets_file), "the old key still opens secrets.enc")
        self.assertTrue(age_decrypts(new_key, secrets_file))
        claims_file = broker.sandbox / "state" / "claims.enc"
        if claims_file.exists():
            self.assertFalse(age_decrypts(old_key, claims_file), "the old key still opens claims.enc")
            self.assertTrue(age_decrypts(new_key, claims_file))
        self.assertEqual(self.served(broker), SECRETS)
        # A bundle for the retired key is refused; one for the new key loads.
        import base64
        old_bundle = age_encrypt(recipient_of(old_key), bundle_toml({"X": "y"}))
        reply = broker.admin({"op": "push-creds", "ciphertext_b64": base64.b64encode(old_bundle).decode()})
        self.assertEqual(reply["code"], "decrypt_failed")
        # The audit trail has both phases, with recipients only.
        phases = [e["phase"] for e in broker.wait_audit(lambda e: e["event"] == "bootstrap.rotate")]
        self.assertIn("begin", phases)
        self.assertIn("confirm", phases)
        # A restart with the new credential serves everything.
        self.restart(broker)
        self.assertEqual(self.outcome(broker), "served")
        self.assert_rotated_to(broker, new_recipient)
        self.assert_no_key_leak(broker, new_key)

    def test_rotate_with_generated_identity(self):
        broker = self.start_broker()
        old_key = broker.key_file.read_text()
        result = self.rotate(broker)
        self.assertEqual(result.returncode, 0, result.stderr)
        new_recipient = result.stdout.strip()
        self.assertTrue(new_recipient.startswith("age1"))
        self.assertNotEqual(new_recipient, recipient_of(old_key))
        self.assertNotIn("AGE-SECRET-KEY", result.stdout + result.stderr)
        self.check_complete_rotation(broker, old_key, new_recipient)

    def test_rotate_with_supplied_identity(self):
        broker = self.start_broker()
        old_key = broker.key_file.read_text()
        identity = new_identity()
        identity_file = self.outside / "new-key.txt"
        identity_file.write_text(identity)
        result = self.rotate(broker, "--identity-file", str(identity_file))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.strip(), recipient_of(identity))
        self.check_complete_rotation(broker, old_key, recipient_of(identity))

    @unittest.skipUnless(shutil.which("systemd-creds"), "systemd-creds is not installed")
    def test_rotate_into_systemd_creds_without_key_in_argv(self):
        broker = self.start_broker()
        sealed = self.outside / "credstore.encrypted" / "bootstrap-key"
        sealed.parent.mkdir()
        subprocess.run(["systemd-creds", "encrypt", "--name=bootstrap-key", "-", str(sealed)],
                       input=broker.key_file.read_bytes(), check=True, capture_output=True)
        cmdlines = []
        stop = threading.Event()

        def watch():  # every process's argv while the rotation runs (systemd-creds is a child)
            while not stop.is_set():
                for proc in pathlib.Path("/proc").glob("[0-9]*"):
                    try:
                        cmdlines.append((proc / "cmdline").read_bytes())
                    except OSError:
                        pass

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            result = subprocess.run([BROKERCTL, "rotate", "--socket", str(broker.admin_socket), "--systemd-creds",
                                     "--credential-file", str(sealed)], capture_output=True, text=True, timeout=60)
        finally:
            stop.set()
            watcher.join()
        self.assertEqual(result.returncode, 0, result.stderr)
        new_recipient = result.stdout.strip()
        self.assertFalse(any(b"AGE-SECRET-KEY" in c for c in cmdlines))
        self.assertNotIn(b"AGE-SECRET-KEY", sealed.read_bytes())
        new_key = subprocess.run(["systemd-creds", "decrypt", "--name=bootstrap-key", str(sealed), "-"],
                                 check=True, capture_output=True, text=True).stdout
        self.assertEqual(recipient_of(new_key), new_recipient)
        # What LoadCredentialEncrypted= hands the daemon at the next start.
        self.restart(broker, new_key)
        self.assertEqual(self.outcome(broker), "served")
        self.assert_rotated_to(broker, new_recipient)
        self.assert_no_key_leak(broker, new_key)

    def test_wrong_credential_file_is_refused_before_anything_changes(self):
        broker = self.start_broker()
        other = self.outside / "other-key"
        other.write_text(new_identity())
        secrets_before = (broker.sandbox / "state" / "secrets.enc").read_bytes()
        result = subprocess.run([BROKERCTL, "rotate", "--socket", str(broker.admin_socket), "--credential-file",
                                 str(other)], capture_output=True, text=True)
        self.assertEqual(result.returncode, 1)
        self.assertIn("is it the file systemd loads", result.stderr)
        self.assertEqual((broker.sandbox / "state" / "secrets.enc").read_bytes(), secrets_before)
        self.assertIsNone(broker.admin({"op": "status"})["rotation"])


class RotateBadInput(RotateBase):
    """Each bad request gets a specific error; the daemon keeps serving and the state on disk is unchanged."""

    def setUp(self):
        super().setUp()
        self.broker = self.start_broker()
        self.state = self.broker.sandbox / "state"
        self.before = {p.name: p.read_bytes() for p in self.state.iterdir() if p.is_file()}

    def assert_refused(self, request, code, fragment):
        reply = self.broker.admin(request)
        self.assertFalse(reply["ok"], reply)
        self.assertEqual(reply["code"], code)
        self.assertIn(fragment, reply["message"])
        if isinstance(request.get("identity"), str):
            self.assertNotIn(request["identity"][16:], reply["message"])  # never quoted back
        self.assertEqual({p.name: p.read_bytes() for p in self.state.iterdir() if p.is_file()}, self.before)
        self.assertEqual(self.served(self.broker), SECRETS)

    def test_malformed_identity(self):
        self.assert_refused({"op": "rotate-bootstrap", "identity": "AGE-SECRET-KEY-1NOTAKEY"}, "protocol_error",
                            "field 'identity' is not an age X25519 identity")

    def test_identity_of_wrong_type(self):
        self.assert_refused({"op": "rotate-bootstrap", "identity": 7}, "protocol_error", "identity")

    def test_confirm_not_boolean(self):
        self.assert_refused({"op": "rotate-bootstrap", "confirm": "yes"}, "protocol_error",
                            "field 'confirm' must be a boolean")

    def test_confirm_with_identity(self):
        self.assert_refused({"op": "rotate-bootstrap", "confirm": True, "identity": secret_key_line(new_identity())},
                            "protocol_error", "not allowed with 'confirm'")

    def test_confirm_without_recipient(self):
        self.assert_refused({"op": "rotate-bootstrap", "confirm": True}, "protocol_error", "recipient")

    def test_confirm_with_bad_recipient(self):
        self.assert_refused({"op": "rotate-bootstrap", "confirm": True, "recipient": "age1nope"}, "protocol_error",
                            "not an age X25519 recipient")

    def test_recipient_without_confirm(self):
        self.assert_refused({"op": "rotate-bootstrap", "recipient": self.broker.recipient}, "protocol_error",
                            "only for 'confirm'")

    def test_unknown_field(self):
        self.assert_refused({"op": "rotate-bootstrap", "identiy": "x"}, "protocol_error", "unknown field")

    def test_confirm_with_nothing_pending(self):
        self.assert_refused({"op": "rotate-bootstrap", "confirm": True, "recipient": self.broker.recipient},
                            "bootstrap_error", "no bootstrap key rotation is pending")

    def test_current_key_as_new_identity(self):
        self.assert_refused({"op": "rotate-bootstrap", "identity": secret_key_line(self.broker.key_file.read_text())},
                            "bootstrap_error", "the new identity is the broker's current key")

    def test_pending_rotation_refuses_push_and_foreign_confirm(self):
        identity = new_identity()
        begun = self.broker.admin({"op": "rotate-bootstrap", "identity": secret_key_line(identity)})
        self.assertTrue(begun["ok"], begun)
        self.assertEqual(begun["recipient"], recipient_of(identity))
        self.assertTrue(begun["pending"])
        self.assertNotIn("identity", begun)  # a supplied key is never echoed
        status = self.broker.admin({"op": "status"})
        self.assertEqual(status["rotation"]["old_recipient"], self.broker.recipient)
        self.assertEqual(status["rotation"]["new_recipient"], recipient_of(identity))
        self.assertTrue(status["rotation"]["old_key_loaded"] and status["rotation"]["new_key_loaded"])
        import base64
        bundle = age_encrypt(recipient_of(identity), bundle_toml({"X": "y"}))
        pushed = self.broker.admin({"op": "push-creds", "ciphertext_b64": base64.b64encode(bundle).decode()})
        self.assertEqual(pushed["code"], "bootstrap_error")
        self.assertIn("pending", pushed["message"])
        wrong = self.broker.admin({"op": "rotate-bootstrap", "confirm": True,
                                   "recipient": recipient_of(new_identity())})
        self.assertEqual(wrong["code"], "bootstrap_error")
        self.assertEqual(self.served(self.broker), SECRETS)


class RotateCrashMatrix(RotateBase):
    """SIGKILL at every step boundary; restart with the old and with the new credential."""

    def crash_at(self, step):
        """Returns (broker, old_key, new_key) with the broker stopped as the crash left it."""
        env = {"REMO_TEST_CRASH_AT": step} if step in DAEMON_STEPS else None
        broker = self.start_broker(env=env)
        old_key = broker.key_file.read_text()
        new_key = new_identity()
        if step in DAEMON_STEPS:
            identity_file = self.outside / f"{step}.key"
            identity_file.write_text(new_key)
            result = self.rotate(broker, "--identity-file", str(identity_file))
            self.assertNotEqual(result.returncode, 0)
            self.assertEqual(broker.proc.wait(timeout=10), -signal.SIGKILL, broker.stderr())
        else:
            identity_file = self.outside / f"{step}.key"
            identity_file.write_text(new_key)
            result = self.rotate(broker, "--identity-file", str(identity_file), env={"REMO_TEST_CRASH_AT": step})
            self.assertEqual(result.returncode, -signal.SIGKILL, result.stderr)
            self.assertEqual(recipient_of(broker.key_file.read_text()),
                             recipient_of(new_key if step == "cli-after-write" else old_key))
            self.assertEqual(self.outcome(broker), "served")  # the daemon itself never stopped serving
        left_by_cli = broker.key_file.read_text()
        return broker, old_key, new_key, left_by_cli

    def check_step(self, step):
        broker, old_key, new_key, left_by_cli = self.crash_at(step)
        outcomes = {}
        for name, key in (("old", old_key), ("new", new_key)):
            self.restart(broker, key)
            outcomes[name] = self.outcome(broker)
        # The credential file as the crash left it is what systemd loads next: it must always serve.
        self.restart(broker, left_by_cli)
        self.assertEqual(self.outcome(broker), "served", f"{step}: {outcomes}")
        result = self.rotate(broker)
        self.assertEqual(result.returncode, 0, f"{step}: {result.stderr}")
        final = result.stdout.strip()
        self.assert_rotated_to(broker, final)
        self.assertEqual(self.outcome(broker), "served")
        self.restart(broker)
        self.assertEqual(self.outcome(broker), "served")
        self.assert_rotated_to(broker, final)
        self.assert_no_key_leak(broker, broker.key_file.read_text())
        self.assertNotIn(secret_key_line(new_key), broker.stderr())
        return outcomes

    def test_every_step(self):
        expected_new_serves = {"begin-secrets", "begin-claims", "begin-marker", "confirm-claims",
                               "confirm-secrets", "confirm-marker", "cli-after-begin", "cli-after-write"}
        for step in DAEMON_STEPS + CLI_STEPS:
            with self.subTest(step=step):
                outcomes = self.check_step(step)
                print(f"{step}: restart with old key {outcomes['old']}, with new key {outcomes['new']}",
                      file=sys.stderr)
                # Before the new key is in the credential file the old one must serve; after, the new one.
                if step.startswith("begin") or step == "cli-after-begin":
                    self.assertEqual(outcomes["old"], "served", step)
                if step in expected_new_serves and (step.startswith("confirm") or step == "cli-after-write"):
                    self.assertEqual(outcomes["new"], "served", step)


if __name__ == "__main__":
    unittest.main()
