"""Signed bundles (issue 4) with the real `ssh-keygen -Y sign` and the real daemon.

With --allowed-signers, push-creds must carry an SSHSIG over the exact ciphertext bytes, in namespace
remo-broker, by an ssh-ed25519 key in the file; the signature is verified before anything is decrypted.
Every refusal is `signature_invalid` with a specific message, changes nothing (memory, secrets.enc) and is
audited with its reason; a good push records the signer's fingerprint. A bad allowed_signers file refuses
to start with one clear line. Without allowed_signers a signature is accepted and ignored.
"""

import base64
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import BROKER, CANARY, Broker, age_encrypt, bundle_toml  # noqa: E402

OLD = {"TOKEN": CANARY + "-old"}
NEW = {"TOKEN": CANARY + "-new"}


def ssh_keygen_ed25519(path: pathlib.Path, comment: str) -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)], check=True,
                   capture_output=True)
    return path.with_suffix(".pub").read_text().strip()


def fingerprint(public_key_file: pathlib.Path) -> str:
    out = subprocess.run(["ssh-keygen", "-l", "-f", str(public_key_file)], check=True, capture_output=True,
                         text=True).stdout
    return out.split()[1]


def sign(key: pathlib.Path, data: bytes, namespace: str = "remo-broker") -> str:
    """ssh-keygen -Y sign over data, as an operator would: the file it signs holds the raw ciphertext."""
    with tempfile.TemporaryDirectory() as work:
        message = pathlib.Path(work) / "bundle.age"
        message.write_bytes(data)
        subprocess.run(["ssh-keygen", "-Y", "sign", "-n", namespace, "-f", str(key), str(message)], check=True,
                       capture_output=True)
        return (pathlib.Path(work) / "bundle.age.sig").read_text()


class SignedPushTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.keys = pathlib.Path(tempfile.mkdtemp(prefix="remo-sshsig-"))
        cls.alice = cls.keys / "alice"
        cls.mallory = cls.keys / "mallory"
        cls.other_ns = cls.keys / "other_ns"
        alice_pub = ssh_keygen_ed25519(cls.alice, "alice@laptop")
        ssh_keygen_ed25519(cls.mallory, "mallory@elsewhere")
        other_pub = ssh_keygen_ed25519(cls.other_ns, "git-only")
        cls.allowed = cls.keys / "allowed_signers"
        cls.allowed.write_text(
            "# operators allowed to push bundles\n\n"
            f'alice@example.com namespaces="remo-broker" {alice_pub}\n'
            f'git@example.com namespaces="git" {other_pub}\n')

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.keys, ignore_errors=True)

    def setUp(self):
        self.broker = Broker(extra_args=["--allowed-signers", str(self.allowed)]).start()
        self.addCleanup(self.broker.cleanup)
        self.assertTrue(self.broker.register("app", ["TOKEN"])["ok"])
        ciphertext = self.encrypt(OLD)
        reply = self.push(ciphertext, sign(self.alice, ciphertext))
        self.assertTrue(reply["ok"], reply)
        self.stored = (self.broker.sandbox / "state" / "secrets.enc").read_bytes()

    def encrypt(self, secrets) -> bytes:
        return age_encrypt(self.broker.recipient, bundle_toml(secrets))

    def push(self, ciphertext: bytes, signature=None) -> dict:
        request = {"op": "push-creds", "ciphertext_b64": base64.b64encode(ciphertext).decode()}
        if signature is not None:
            request["signature"] = signature
        return self.broker.admin(request)

    def served(self) -> str:
        return self.broker.project("app", {"op": "get", "name": "TOKEN"})["value"]

    def assert_refused(self, reply, reason_prefix):
        self.assertEqual(reply["ok"], False)
        self.assertEqual(reply["code"], "signature_invalid", reply)
        self.assertIn(reason_prefix, reply["message"])
        self.assertEqual(self.served(), OLD["TOKEN"], "the old secrets are still served")
        self.assertEqual((self.broker.sandbox / "state" / "secrets.enc").read_bytes(), self.stored)
        events = self.broker.wait_audit(lambda e: e["event"] == "creds.push" and e["outcome"] == "signature_invalid"
                                        and reason_prefix in e.get("signature_error", ""))
        self.assertTrue(events, f"audit line for {reason_prefix}")

    def assert_nothing_leaked(self):
        self.assertNotIn(CANARY, self.broker.stderr())
        self.assertNotIn(CANARY, self.broker.audit_log.read_text())
        self.assertEqual(self.broker.files_containing(CANARY.encode()), [])

    def test_a_good_signature_loads_the_bundle_and_audits_the_signer(self):
        status = self.broker.admin({"op": "status"})
        self.assertEqual(status["signed_pushes_required"], True)
        ciphertext = self.encrypt(NEW)
        reply = self.push(ciphertext, sign(self.alice, ciphertext))
        self.assertEqual((reply["ok"], reply["secret_count"]), (True, 1))
        self.assertEqual(self.served(), NEW["TOKEN"])
        expected = fingerprint(self.alice.with_suffix(".pub"))
        events = self.broker.wait_audit(lambda e: e["event"] == "creds.push" and e["outcome"] == "ok")
        self.assertEqual(len(events), 2)
        self.assertEqual(events[-1]["signer_fingerprint"], expected)
        self.assertEqual(events[-1]["signer_principals"], "alice@example.com")
        self.assertIn(expected, self.broker.stderr())
        self.assert_nothing_leaked()

    def test_armored_ciphertext_is_signed_as_sent(self):
        ciphertext = age_encrypt(self.broker.recipient, bundle_toml(NEW), armor=True)
        self.assertTrue(self.push(ciphertext, sign(self.alice, ciphertext))["ok"])
        self.assertEqual(self.served(), NEW["TOKEN"])

    def test_missing_signature(self):
        self.assert_refused(self.push(self.encrypt(NEW)), "missing signature")

    def test_wrong_key(self):
        ciphertext = self.encrypt(NEW)
        self.assert_refused(self.push(ciphertext, sign(self.mallory, ciphertext)), "unknown key")

    def test_wrong_namespace(self):
        ciphertext = self.encrypt(NEW)
        self.assert_refused(self.push(ciphertext, sign(self.alice, ciphertext, namespace="file")),
                            "wrong namespace")

    def test_key_restricted_to_another_namespace(self):
        ciphertext = self.encrypt(NEW)
        self.assert_refused(self.push(ciphertext, sign(self.other_ns, ciphertext)),
                            "key not allowed for namespace")

    def test_tampered_ciphertext(self):
        ciphertext = self.encrypt(NEW)
        signature = sign(self.alice, ciphertext)
        tampered = bytearray(ciphertext)
        tampered[-1] ^= 0x01
        self.assert_refused(self.push(bytes(tampered), signature), "bad signature")
        # A signature over another (valid) bundle does not carry over either.
        self.assert_refused(self.push(self.encrypt(NEW), signature), "bad signature")

    def test_tampered_signature(self):
        ciphertext = self.encrypt(NEW)
        lines = sign(self.alice, ciphertext).splitlines()
        body = lines[1:-1]
        blob = bytearray(base64.b64decode("".join(body)))
        blob[-5] ^= 0x40  # inside the Ed25519 signature bytes
        encoded = base64.b64encode(bytes(blob)).decode()
        forged = "\n".join([lines[0]] + [encoded[i:i + 70] for i in range(0, len(encoded), 70)] + [lines[-1]])
        self.assert_refused(self.push(ciphertext, forged + "\n"), "bad signature")

    def test_malformed_armor(self):
        ciphertext = self.encrypt(NEW)
        good = sign(self.alice, ciphertext)
        self.assert_refused(self.push(ciphertext, good.replace("BEGIN SSH SIGNATURE", "BEGIN SIGNATURE")),
                            "malformed armor")
        self.assert_refused(self.push(ciphertext, "not a signature"), "malformed armor")
        self.assert_refused(self.push(ciphertext, good.replace("\n", " ")), "malformed armor")
        reply = self.push(ciphertext, 42)
        self.assertEqual(reply["code"], "protocol_error")
        self.assertEqual(self.served(), OLD["TOKEN"])

    def test_signature_checked_before_decryption(self):
        # Garbage that is not an age file at all: unsigned, it is refused for the signature, not decrypt_failed.
        self.assert_refused(self.push(b"not an age file"), "missing signature")
        signed_garbage = b"not an age file either"
        reply = self.push(signed_garbage, sign(self.alice, signed_garbage))
        self.assertEqual(reply["code"], "decrypt_failed", "a good signature does not make a bad bundle good")
        self.assert_nothing_leaked()


class AllowedSignersFileTest(unittest.TestCase):
    def setUp(self):
        self.work = pathlib.Path(tempfile.mkdtemp(prefix="remo-allowed-"))
        self.addCleanup(shutil.rmtree, self.work, True)
        self.sandbox = self.work / "sandbox"
        Broker(sandbox=self.sandbox)  # makes the bootstrap key only

    def start_with(self, allowed_signers: pathlib.Path):
        return subprocess.run([BROKER, "--sandbox", str(self.sandbox), "--allowed-signers", str(allowed_signers)],
                              capture_output=True, text=True, timeout=20)

    def assert_refuses_to_start(self, content, expected):
        path = self.work / "allowed_signers"
        if content is None:
            path.unlink(missing_ok=True)
        else:
            path.write_text(content)
        run = self.start_with(path)
        self.assertEqual(run.returncode, 1, run.stderr)
        self.assertIn("cannot start: allowed_signers " + str(path), run.stderr)
        self.assertIn(expected, run.stderr)
        self.assertFalse((self.sandbox / "run" / "admin.sock").exists())

    def test_bad_files_refuse_to_start_with_one_clear_line(self):
        pub = ssh_keygen_ed25519(self.work / "k", "k")
        self.assert_refuses_to_start(None, "no such file")
        self.assert_refuses_to_start("just-a-principal\n", "line 1")
        self.assert_refuses_to_start(f"# ok\nalice@example.com {pub}\nbob ssh-ed25519 AAAA!!!!\n", "line 3")
        self.assert_refuses_to_start(f'alice namespaces="remo-broker {pub}\n', "line 1")
        self.assert_refuses_to_start("# nobody yet\n\n", "no ssh-ed25519 key")
        ecdsa = self.work / "e"
        subprocess.run(["ssh-keygen", "-q", "-t", "ecdsa", "-N", "", "-f", str(ecdsa)], check=True,
                       capture_output=True)
        self.assert_refuses_to_start("carol " + ecdsa.with_suffix(".pub").read_text(), "no ssh-ed25519 key")
        self.assertNotIn("CANARY", pub)

    def test_unsigned_setup_accepts_and_ignores_a_signature(self):
        broker = Broker(extra_args=["--requests-per-second", "0"]).start()
        self.addCleanup(broker.cleanup)
        self.assertEqual(broker.admin({"op": "status"})["signed_pushes_required"], False)
        ciphertext = age_encrypt(broker.recipient, bundle_toml(NEW))
        reply = broker.admin({"op": "push-creds", "ciphertext_b64": base64.b64encode(ciphertext).decode(),
                              "signature": "anything at all"})
        self.assertTrue(reply["ok"], reply)
        events = broker.wait_audit(lambda e: e["event"] == "creds.push" and e["outcome"] == "ok")
        self.assertTrue(events[0]["signature"].startswith("ignored"))


if __name__ == "__main__":
    unittest.main()
