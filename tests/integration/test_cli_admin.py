"""remo-brokerctl admin <op> against a real remo-broker: human and --json output, every op, the exit status
of every failure class (broker errors, broker not running, socket permission, malformed replies), and no
secret value in any output. One-shot and kill-switch ops skip while the broker says "not implemented"."""

import base64
import hashlib
import json
import os
import pathlib
import socket
import subprocess
import sys
import threading
import unittest

import jsonschema

sys.path.insert(0, os.path.dirname(__file__))
from harness import CANARY, SOURCE_DIR, Broker, age_encrypt, age_keygen, bundle_toml, write_manifest  # noqa: E402
from cli_harness import CTL, ctl  # noqa: E402

SECRETS = {"GITHUB_TOKEN": CANARY + "-github", "BLOB": b"\x00\x01" + CANARY.encode()}


def not_implemented(result) -> bool:
    return b"is not implemented by this broker version yet" in result.stderr


class FakeBroker:
    """A Unix socket answering every connection with fixed bytes (to provoke reply-handling failures)."""

    def __init__(self, path, reply: bytes):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen(8)
        self.reply = reply
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.sendall(self.reply)

    def close(self):
        self.sock.close()


class AdminCli(unittest.TestCase):
    def setUp(self):
        self.broker = Broker().start()
        self.env = {"REMO_BROKER_ADMIN_SOCKET": str(self.broker.admin_socket)}
        self.outputs = []

    def tearDown(self):
        self.broker.cleanup()
        for out in self.outputs:
            self.assertNotIn(CANARY.encode(), out)

    def admin(self, *args, input=None, env=None):
        result = ctl("admin", *args, input=input, env={**self.env, **(env or {})})
        self.outputs += [result.stdout, result.stderr]
        return result

    def push(self, secrets=SECRETS):
        return self.admin("push-creds", input=age_encrypt(self.broker.recipient, bundle_toml(secrets)))

    def test_status_for_people_and_for_scripts(self):
        human = self.admin("status")
        self.assertEqual(human.returncode, 0, human.stderr)
        self.assertIn(b"secret_count: 0\n", human.stdout)
        self.assertIn(b"recipient: " + self.broker.recipient.encode(), human.stdout)
        scripted = self.admin("status", "--json")
        self.assertEqual(json.loads(scripted.stdout)["recipient"], self.broker.recipient)
        self.assertEqual(json.loads(self.admin("--json", "status").stdout)["ok"], True)

    def test_get_public_key(self):
        result = self.admin("get-public-key")
        self.assertEqual(result.stdout.decode(), self.broker.recipient + "\n")
        self.assertEqual(json.loads(self.admin("get-public-key", "--json").stdout)["recipient"], self.broker.recipient)

    def test_push_creds_from_stdin_and_file_then_clear(self):
        result = self.push()
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(b"secret_count: 2", result.stdout)
        armored = pathlib.Path(self.broker.sandbox) / "bundle.age"
        armored.write_bytes(age_encrypt(self.broker.recipient, bundle_toml({"ONE": CANARY}), armor=True))
        self.assertEqual(self.admin("push-creds", str(armored)).returncode, 0)
        self.assertEqual(self.broker.admin({"op": "status"})["secret_count"], 1)
        self.assertEqual(self.admin("clear").returncode, 0)
        self.assertEqual(self.broker.admin({"op": "status"})["secret_count"], 0)

    def test_push_creds_failures_have_their_own_status(self):
        stranger = age_keygen(pathlib.Path(self.broker.sandbox) / "stranger.key")
        wrong_key = self.admin("push-creds", input=age_encrypt(stranger, bundle_toml(SECRETS)))
        self.assertEqual(wrong_key.returncode, 17, wrong_key.stderr)
        self.assertIn(b"decrypt_failed", wrong_key.stderr)
        bad_payload = self.admin("push-creds", input=age_encrypt(self.broker.recipient, b'bad-name = "x"\n'))
        self.assertEqual(bad_payload.returncode, 18, bad_payload.stderr)
        self.assertEqual(self.admin("push-creds", input=b"").returncode, 2)
        as_json = self.admin("push-creds", "--json", input=age_encrypt(stranger, b"A = \"b\"\n"))
        self.assertEqual(json.loads(as_json.stdout)["code"], "decrypt_failed")
        self.assertEqual(as_json.returncode, 17)

    def test_signature_flags(self):
        ciphertext = age_encrypt(self.broker.recipient, bundle_toml(SECRETS))
        no_signature = self.admin("push-creds", "--signature-on-stdin", input=ciphertext)
        self.assertEqual(no_signature.returncode, 2, no_signature.stderr)
        self.assertIn(b"does not start with -----BEGIN SSH SIGNATURE-----", no_signature.stderr)
        key = pathlib.Path(self.broker.sandbox) / "sign_key"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        signature = subprocess.run(["ssh-keygen", "-q", "-Y", "sign", "-n", "remo-broker", "-f", str(key)],
                                   input=ciphertext, capture_output=True, check=True).stdout
        signed = self.admin("push-creds", "--signature-on-stdin", input=signature + ciphertext)
        if b"unknown field 'signature'" in signed.stderr:
            self.skipTest("push-creds 'signature' is not on this branch yet")
        self.assertEqual(signed.returncode, 0, signed.stderr)

    def test_register_reload_unregister(self):
        project = pathlib.Path(self.broker.sandbox) / "projects" / "myrepo"
        write_manifest(project, "myrepo", ["GITHUB_TOKEN"])
        relative = os.path.relpath(project)
        registered = self.admin("register", "myrepo", relative, "--uid", "0", "--gid", "0")
        self.assertEqual(registered.returncode, 0, registered.stderr)
        self.assertIn(b"socket_path: " + str(self.broker.project_socket("myrepo")).encode(), registered.stdout)
        self.assertIn(b"+ GITHUB_TOKEN\n", registered.stdout, "register shows the allowlist it approved")
        self.assertEqual(self.admin("register", "myrepo", str(project)).returncode, 22)
        write_manifest(project, "myrepo", ["GITHUB_TOKEN", "NPM_TOKEN"])
        sha = hashlib.sha256((project / ".devcontainer" / "remo-broker.toml").read_bytes()).hexdigest()
        dry = self.admin("reload", "myrepo", "--dry-run")
        self.assertEqual(dry.stdout, b"+ NPM_TOKEN\n"
                         b"dry run: nothing applied (reload --expect-sha256 with the digest above approves "
                         b"exactly this manifest)\nmanifest_sha256: " + sha.encode() + b"\n")
        stale = self.admin("reload", "myrepo", "--expect-sha256", "0" * 64)
        self.assertEqual(stale.returncode, 19, stale.stderr)
        self.assertIn(b"changed since it was reviewed", stale.stderr)
        reloaded = self.admin("reload", "myrepo", "--expect-sha256", sha)
        self.assertEqual(reloaded.stdout, b"+ NPM_TOKEN\napplied: the project now serves 2 secrets\n"
                         b"manifest_sha256: " + sha.encode() + b"\n")
        write_manifest(project, "myrepo", ["NPM_TOKEN"], "[limits]\nburst = 3\n")
        self.assertTrue(self.admin("reload", "myrepo").stdout.startswith(
            b"- GITHUB_TOKEN\n~ limits.burst: unset -> 3\napplied: the project now serves 1 secrets\n"))
        (project / ".devcontainer" / "remo-broker.toml").write_text("schema_version = 7\n")
        invalid = self.admin("reload", "myrepo")
        self.assertEqual(invalid.returncode, 19, invalid.stderr)
        self.assertEqual(self.admin("unregister", "myrepo").returncode, 0)
        self.assertEqual(self.admin("unregister", "myrepo").returncode, 21)
        empty = pathlib.Path(self.broker.sandbox) / "projects" / "empty"
        empty.mkdir()
        self.assertEqual(self.admin("register", "empty", str(empty)).returncode, 20)
        self.assertEqual(self.admin("register", "empty", str(empty), "--uid", "x").returncode, 2)
        self.assertEqual(self.admin("register", "Bad Name", str(empty)).returncode, 14)

    def test_secret_digests_are_keyed_blake2b_of_name_and_value(self):
        self.push()
        key = os.urandom(32)
        result = self.admin("secret-digests", "--json", input=base64.b64encode(key) + b"\n")
        self.assertEqual(result.returncode, 0, result.stderr)
        reply = json.loads(result.stdout)
        schema = json.loads((SOURCE_DIR / "protocol" / "remo-broker.schema.json").read_text())
        jsonschema.Draft202012Validator({"$defs": schema["$defs"], "$ref": "#/$defs/reply/properties/secret-digests"}
                                        ).validate(reply)
        digests = reply["digests"]
        for name, value in SECRETS.items():
            raw = value if isinstance(value, bytes) else value.encode()
            expected = hashlib.blake2b(name.encode() + b"\0" + raw, key=key, digest_size=32).hexdigest()
            self.assertEqual(digests[name], expected)
        self.assertEqual(self.admin("secret-digests", input=b"c2hvcnQ=\n").returncode, 14)

    def test_lock_and_unlock(self):
        self.push()
        self.broker.register("myrepo", ["GITHUB_TOKEN"])
        locked = self.admin("lock")
        if not_implemented(locked):
            self.skipTest("lock is not on this branch yet")
        self.assertEqual(locked.returncode, 0, locked.stderr)
        get = ["get", "-n", "GITHUB_TOKEN", "--socket", str(self.broker.project_socket("myrepo"))]
        refused = ctl(*get)
        self.assertEqual((refused.returncode, refused.stdout), (13, b""), refused.stderr)
        self.assertIn(b"locked", refused.stderr)
        self.assertEqual(self.admin("unlock").returncode, 0)
        self.assertEqual(ctl(*get).stdout, SECRETS["GITHUB_TOKEN"].encode())

    def test_one_shot_claims(self):
        project = pathlib.Path(self.broker.sandbox) / "projects" / "worker"
        write_manifest(project, "worker", [])
        self.assertEqual(self.admin("register", "worker", str(project)).returncode, 0)
        created = self.admin("claim-create", "worker", "--ttl", "60", "--json", input=(CANARY + "-once\n").encode())
        if not_implemented(created):
            self.skipTest("claim-create is not on this branch yet")
        self.assertEqual(created.returncode, 0, created.stderr)
        self.outputs.remove(created.stdout)  # holds the token, not the value; checked below instead
        reply = json.loads(created.stdout)
        self.assertNotIn(CANARY.encode(), created.stdout)
        listed = self.admin("claim-list", "--json")
        self.assertIn(reply["claim_id"], [c["claim_id"] for c in json.loads(listed.stdout)["claims"]])
        self.assertNotIn(reply["token"].encode(), listed.stdout)
        claimed = ctl("claim", "-n", "--socket", str(self.broker.project_socket("worker")),
                      env={"REMO_CLAIM_TOKEN": reply["token"]})
        self.assertEqual(claimed.stdout, (CANARY + "-once").encode(), claimed.stderr)
        again = ctl("claim", "--socket", str(self.broker.project_socket("worker")),
                    env={"REMO_CLAIM_TOKEN": reply["token"]})
        self.assertNotEqual(again.returncode, 0)
        human = self.admin("claim-create", "worker", "--ttl", "60", input=b"second")
        self.assertIn(b"token: ", human.stdout)
        claim_id = [line.split(b": ")[1] for line in human.stdout.splitlines() if line.startswith(b"claim_id: ")][0]
        self.assertEqual(self.admin("claim-revoke", claim_id.decode()).returncode, 0)
        self.assertEqual(self.admin("claim-create", "worker", "--ttl", "0", input=b"x").returncode, 2)
        self.assertEqual(self.admin("claim-create", "worker", "--ttl", "5", input=b"").returncode, 2)

    def test_broker_not_running(self):
        self.broker.stop()
        result = self.admin("status")
        self.assertEqual(result.returncode, 3)
        self.assertIn(b"is remo-broker running", result.stderr)

    def test_socket_flag_beats_environment(self):
        result = self.admin("status", "--socket", str(self.broker.admin_socket), env={"REMO_BROKER_ADMIN_SOCKET": "/nonexistent"})
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(self.admin("status", env={"REMO_BROKER_ADMIN_SOCKET": "/nonexistent/admin.sock"}).returncode, 3)

    def test_socket_permission(self):
        probe = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", CTL, "--version"],
                               capture_output=True)
        if probe.returncode != 0:
            self.skipTest("the remo-brokerctl binary is not reachable by nobody here")
        # The sandbox's directories opened up, so only the socket's own mode (0600, root) keeps nobody out.
        os.chmod(self.broker.sandbox, 0o755)
        os.chmod(self.broker.sandbox / "run", 0o755)
        result = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", CTL, "admin",
                                 "status", "--socket", str(self.broker.admin_socket)], capture_output=True)
        self.assertEqual(result.returncode, 4, result.stderr)
        self.assertIn(b"permission denied", result.stderr)

    def test_malformed_and_unknown_replies(self):
        cases = [(b"not json\n", 5, b"malformed_reply"), (b"", 5, b"without a reply"),
                 (b'{"ok":false,"code":"brand_new","message":"m"}\n', 25, b"brand_new: m"),
                 (b'{"ok":false,"code":"rate_limited","message":"slow down","retry_after_seconds":3}\n', 12,
                  b"retry after 3 s")]
        for reply, status, text in cases:
            with self.subTest(reply=reply):
                path = pathlib.Path(self.broker.sandbox) / "fake.sock"
                fake = FakeBroker(path, reply)
                try:
                    result = self.admin("status", "--socket", str(path))
                    self.assertEqual(result.returncode, status, result.stderr)
                    self.assertIn(text, result.stderr)
                finally:
                    fake.close()
                    path.unlink()

    def test_rotate_is_delegated(self):
        self.push()
        result = self.admin("rotate", "--credential-file", str(self.broker.key_file))
        self.assertEqual(result.returncode, 0, result.stderr)
        new_recipient = result.stdout.decode().strip()
        self.assertTrue(new_recipient.startswith("age1"))
        self.assertEqual(self.admin("get-public-key").stdout.decode().strip(), new_recipient)

    def test_usage(self):
        self.assertEqual(self.admin().returncode, 2)
        self.assertEqual(self.admin("frobnicate").returncode, 2)
        self.assertEqual(self.admin("unregister").returncode, 2)
        self.assertEqual(self.admin("status", "extra").returncode, 2)
        self.assertEqual(self.admin("status", "--ttl", "3").returncode, 2)
        helped = self.admin("--help")
        self.assertEqual(helped.returncode, 0)
        self.assertIn(b"3 broker not running", helped.stdout)


if __name__ == "__main__":
    unittest.main()
