"""The real remo-broker end to end in a sandbox: a key from age-keygen, a bundle encrypted by the age CLI,
a project with a manifest, gets and denials over the project socket, the audit trail, sd_notify, a clean
SIGTERM, and a restart that keeps secrets and registrations. A canary secret must never show up anywhere
but in the reply to an allowed get."""

import base64
import hashlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import BROKER, CANARY, Broker, Connection, age_encrypt, bundle_toml  # noqa: E402


class NotifySocket:
    """A datagram socket standing in for systemd's NOTIFY_SOCKET."""

    def __init__(self, directory):
        self.path = os.path.join(directory, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.messages = []

    def wait_for(self, line, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(line in message.split("\n") for message in self.messages):
                return True
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except socket.timeout:
                break
        return any(line in message.split("\n") for message in self.messages)

    def close(self):
        self.sock.close()


class DaemonSmoke(unittest.TestCase):
    def setUp(self):
        self.broker = Broker()
        self.notify = NotifySocket(str(self.broker.sandbox))
        self.replies = []  # every reply seen, for the canary check

    def tearDown(self):
        self.notify.close()
        self.broker.cleanup()

    def call(self, socket_path, request):
        with Connection(socket_path) as c:
            reply = c.call(request)
        self.replies.append(reply)
        return reply

    def assert_canary_nowhere(self):
        for reply in self.replies:
            if reply.get("ok") and "value" in reply:
                continue  # the one place the canary belongs
            self.assertNotIn(CANARY, str(reply))
        self.assertNotIn(CANARY, self.broker.stderr())
        self.assertEqual(self.broker.files_containing(CANARY.encode()), [])

    def stop_cleanly(self):
        started = time.monotonic()
        code = self.broker.stop(signal.SIGTERM, timeout=10)
        self.assertEqual(code, 0, self.broker.stderr())
        self.assertLess(time.monotonic() - started, 5.0)
        self.assertTrue(self.notify.wait_for("STOPPING=1", timeout=1))
        run_dir = self.broker.sandbox / "run"
        self.assertEqual([p.name for p in run_dir.iterdir() if p.is_socket()], [])

    def test_push_register_get_deny_audit_stop_and_restart(self):
        b = self.broker
        b.env = {"NOTIFY_SOCKET": self.notify.path}
        b.start()
        self.assertTrue(self.notify.wait_for("READY=1"), self.notify.messages)

        status = self.call(b.admin_socket, {"op": "status", "id": 1})
        self.assertTrue(status["ok"])
        self.assertEqual(status["id"], 1)
        self.assertEqual(status["recipient"], b.recipient)
        self.assertEqual(status["decryption_key_source"], "sandbox")
        self.assertIsNone(status["secrets_loaded_at"])
        self.assertEqual(self.call(b.admin_socket, {"op": "get-public-key"})["recipient"], b.recipient)

        # Laptop side: the age CLI encrypts to the broker's recipient.
        ciphertext = age_encrypt(b.recipient, bundle_toml({"GITHUB_TOKEN": CANARY, "NPM_TOKEN": "npm-value",
                                                            "BLOB": b"\x00\xff\x10"}))
        pushed = self.call(b.admin_socket, {"op": "push-creds",
                                            "ciphertext_b64": base64.b64encode(ciphertext).decode()})
        self.assertTrue(pushed["ok"], pushed)
        self.assertEqual(pushed["secret_count"], 3)
        self.assertEqual((b.sandbox / "state" / "secrets.enc").read_bytes(), ciphertext)
        self.assertTrue(self.notify.wait_for("STATUS=serving 3 secrets to 0 projects"), self.notify.messages)

        registered = b.register("myrepo", ["GITHUB_TOKEN", "BLOB", "ABSENT"])
        self.replies.append(registered)
        self.assertTrue(registered["ok"], registered)
        project_socket = b.project_socket("myrepo")
        self.assertEqual(registered["socket_path"], str(project_socket))
        self.assertEqual(os.stat(project_socket).st_mode & 0o777, 0o660)
        self.assertEqual(os.stat(b.admin_socket).st_mode & 0o777, 0o600)

        with Connection(project_socket) as c:
            ping = c.call({"op": "ping"})
            got = c.call({"op": "get", "name": "GITHUB_TOKEN", "id": "g"})
            blob = c.call({"op": "get", "name": "BLOB"})
            denied = c.call({"op": "get", "name": "NPM_TOKEN"})
            absent = c.call({"op": "get", "name": "ABSENT"})
        self.replies += [ping, got, blob, denied, absent]
        self.assertEqual(ping["project"], "myrepo")
        self.assertEqual(got, {"ok": True, "id": "g", "value": CANARY, "ttl_seconds": 300})
        self.assertEqual(base64.b64decode(blob["value_b64"]), b"\x00\xff\x10")
        self.assertEqual(denied["code"], "denied")
        self.assertEqual(absent["code"], "not_found")

        gets = b.wait_audit(lambda e: e.get("event") == "secret.get" and e.get("secret") == "NPM_TOKEN")
        self.assertEqual(len(gets), 1)
        self.assertEqual(gets[0]["decision"], "deny")
        self.assertEqual(gets[0]["outcome"], "denied")
        self.assertEqual(gets[0]["project"], "myrepo")
        self.assertEqual(gets[0]["peer"]["uid"], os.getuid())
        allowed = b.wait_audit(lambda e: e.get("event") == "secret.get" and e.get("secret") == "GITHUB_TOKEN")
        self.assertEqual((allowed[0]["decision"], allowed[0]["outcome"]), ("allow", "ok"))
        push_events = b.wait_audit(lambda e: e.get("event") == "creds.push")
        self.assertEqual(push_events[0]["ciphertext_sha256"], hashlib.sha256(ciphertext).hexdigest())
        self.assertEqual(push_events[0]["secret_count"], 3)
        self.assert_canary_nowhere()

        self.stop_cleanly()
        self.assert_canary_nowhere()

        # A restart decrypts secrets.enc again and re-binds every registered project.
        b.start()
        status = self.call(b.admin_socket, {"op": "status"})
        self.assertEqual(status["secret_count"], 3)
        self.assertIsNotNone(status["secrets_loaded_at"])
        self.assertEqual([p["name"] for p in status["projects"]], ["myrepo"])
        self.assertIsNone(status["last_error"])
        self.assertEqual(self.call(project_socket, {"op": "get", "name": "GITHUB_TOKEN"})["value"], CANARY)
        self.stop_cleanly()
        self.assert_canary_nowhere()

    def test_clear_creds_survives_a_restart(self):
        b = self.broker
        b.start()
        self.assertTrue(b.push({"GITHUB_TOKEN": CANARY})["ok"])
        self.assertEqual(self.call(b.admin_socket, {"op": "clear-creds"}), {"ok": True})
        self.assertFalse((b.sandbox / "state" / "secrets.enc").exists())
        b.stop()
        b.start()
        self.assertEqual(self.call(b.admin_socket, {"op": "status"})["secret_count"], 0)
        self.assert_canary_nowhere()

    def test_registered_uids_are_the_only_peers_served(self):
        b = self.broker
        b.start()
        other_uid = 54321 if os.getuid() != 54321 else 54322
        reply = b.register("locked", ["X"], uids=[other_uid])
        self.assertTrue(reply["ok"], reply)
        with Connection(b.project_socket("locked")) as c:
            self.assertEqual(c.reply()["code"], "peer_unexpected")
            self.assertTrue(c.is_closed_by_peer())
        rejected = b.wait_audit(lambda e: e.get("event") == "peer.rejected")
        self.assertEqual(rejected[0]["project"], "locked")
        self.assertEqual(rejected[0]["decision"], "deny")

    def test_an_undecryptable_secrets_file_is_reported_not_fatal(self):
        b = self.broker
        (b.sandbox / "state").mkdir(parents=True, exist_ok=True)
        (b.sandbox / "state" / "secrets.enc").write_bytes(b"age-encryption.org/v1\n-> garbage\n")
        b.start()
        status = self.call(b.admin_socket, {"op": "status"})
        self.assertEqual(status["secret_count"], 0)
        self.assertIn("decrypt", status["last_error"])
        self.assertTrue(b.push({"A": "a"})["ok"])
        self.assertIsNone(self.call(b.admin_socket, {"op": "status"})["last_error"])


class DaemonRefusesToStart(unittest.TestCase):
    def run_broker(self, *args, env=None):
        return subprocess.run([BROKER, *args], capture_output=True, text=True, timeout=10,
                              env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)

    def test_a_malformed_key_gives_one_line_and_never_the_key(self):
        with tempfile.TemporaryDirectory() as sandbox:
            os.makedirs(os.path.join(sandbox, "credentials"))
            key_text = "AGE-SECRET-KEY-1" + "Q" * 20 + CANARY.replace("-", "") + "\n"
            with open(os.path.join(sandbox, "credentials", "bootstrap-key"), "w") as f:
                f.write(key_text)
            result = self.run_broker("--sandbox", sandbox)
            self.assertNotEqual(result.returncode, 0)
            self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
            self.assertIn("bootstrap key", result.stderr)
            self.assertNotIn(CANARY.replace("-", ""), result.stderr)
            self.assertNotIn("AGE-SECRET-KEY-1Q", result.stderr)
            self.assertFalse(os.path.exists(os.path.join(sandbox, "run", "admin.sock")))

    def test_a_missing_key_gives_one_line(self):
        with tempfile.TemporaryDirectory() as sandbox:
            result = self.run_broker("--sandbox", sandbox)
            self.assertNotEqual(result.returncode, 0)
            self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
            self.assertIn("bootstrap-key", result.stderr)

    def test_no_credentials_directory_outside_a_sandbox(self):
        env = {k: v for k, v in os.environ.items() if k != "CREDENTIALS_DIRECTORY"}
        with tempfile.NamedTemporaryFile(suffix=".toml") as empty_config:  # keeps /etc/remo-broker out of it
            result = subprocess.run([BROKER, "--config", empty_config.name], capture_output=True, text=True,
                                    timeout=10, env=env, stdin=subprocess.DEVNULL)
        self.assertNotEqual(result.returncode, 0)
        self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
        self.assertIn("CREDENTIALS_DIRECTORY", result.stderr)

    def test_unknown_flags_are_usage_errors(self):
        result = self.run_broker("--sandbox", "/nonexistent", "--frobnicate")
        self.assertEqual(result.returncode, 2)
        self.assertIn("--frobnicate", result.stderr)

    def test_version_and_help(self):
        self.assertIn("remo-broker", self.run_broker("--version").stdout)
        self.assertIn("--sandbox DIR", self.run_broker("--help").stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
