"""Interoperability of `remo-brokerctl` with Debian's real `age` and `age-keygen`, both ways.

Keys made by either side, files encrypted by either side (binary and armored, one or several
recipients, -R files), payloads around the 64 KiB chunk boundary and a 10 MiB one. Failure
behaviour: exit 1, one line on stderr naming the failure class, no output and no -o file, and a
canary plaintext never reaches stderr.

Standard library only; REMO_BROKERCTL_BIN names the CLI under test.
"""

import os
import pathlib
import re
import shutil
import stat
import subprocess
import tempfile
import unittest

BROKERCTL = os.environ.get("REMO_BROKERCTL_BIN", "build/broker/remo-brokerctl")
CANARY = b"CANARY-4d9f1b7e-age-interop-do-not-leak"
SIZES = [0, 1, 65535, 65536, 65537, 10 * 1024 * 1024]


def payload(size: int) -> bytes:
    """Deterministic, incompressible-enough bytes with the canary at the start when it fits."""
    block = (CANARY + bytes(range(256))) * (size // (len(CANARY) + 256) + 1)
    return block[:size]


def run(cmd, stdin: bytes = b"", check: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, input=stdin, capture_output=True, check=check, timeout=120)


def ctl(*args, stdin: bytes = b"") -> subprocess.CompletedProcess:
    return run([BROKERCTL, *args], stdin=stdin)


class AgeInteropTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for tool in ("age", "age-keygen"):
            if shutil.which(tool) is None:
                raise unittest.SkipTest(f"{tool} is not installed")
        cls.tmp = pathlib.Path(tempfile.mkdtemp(prefix="remo-age-interop-"))
        # One identity from each side.
        cls.our_key = cls.tmp / "ours.key"
        result = ctl("keygen", "-o", str(cls.our_key))
        assert result.returncode == 0, result.stderr
        cls.our_recipient = ctl("recipient", "-i", str(cls.our_key)).stdout.decode().strip()
        cls.age_key = cls.tmp / "age.key"
        run(["age-keygen", "-o", str(cls.age_key)], check=True)
        cls.age_recipient = run(["age-keygen", "-y", str(cls.age_key)], check=True).stdout.decode().strip()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def write(self, name: str, data: bytes) -> pathlib.Path:
        path = self.tmp / name
        path.write_bytes(data)
        return path

    def assert_failed_cleanly(self, result, failure_class: str, out_path=None):
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertEqual(result.stdout, b"")
        lines = result.stderr.decode().splitlines()
        self.assertEqual(len(lines), 1, result.stderr)
        self.assertTrue(lines[0].startswith(f"remo-brokerctl: decrypt: {failure_class}: "), lines[0])
        self.assertNotIn(CANARY, result.stderr)
        if out_path is not None:
            self.assertFalse(out_path.exists(), "a failed decrypt left an output file")

    # ---- keys ----

    def test_keygen_format_matches_age_keygen(self):
        text = self.our_key.read_text()
        self.assertRegex(
            text,
            r"\A# created: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)\n"
            r"# public key: age1[02-9ac-hj-np-z]{58}\nAGE-SECRET-KEY-1[02-9AC-HJ-NP-Z]{58}\n\Z")
        # age-keygen -y agrees on the public key.
        age_view = run(["age-keygen", "-y", str(self.our_key)], check=True).stdout.decode().strip()
        self.assertEqual(age_view, self.our_recipient)
        self.assertIn(f"# public key: {self.our_recipient}\n", text)

    def test_keygen_output_file_is_0600_and_never_overwritten(self):
        path = self.tmp / "fresh.key"
        result = ctl("keygen", "-o", str(path))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(stat.S_IMODE(path.stat().st_mode), 0o600)
        self.assertRegex(result.stderr.decode(), r"\APublic key: age1[02-9ac-hj-np-z]{58}\n\Z")
        before = path.read_bytes()
        again = ctl("keygen", "-o", str(path))
        self.assertEqual(again.returncode, 1)
        self.assertEqual(path.read_bytes(), before)
        self.assertNotIn(b"AGE-SECRET-KEY", again.stderr)

    def test_keygen_to_stdout(self):
        result = ctl("keygen")
        self.assertEqual(result.returncode, 0)
        key = self.write("stdout.key", result.stdout)
        self.assertEqual(run(["age-keygen", "-y", str(key)], check=True).stdout,
                         ctl("recipient", "-i", str(key)).stdout)

    def test_recipient_reads_stdin_and_several_identities(self):
        both = self.our_key.read_bytes() + self.age_key.read_bytes()
        for args in ((), ("-i", "-")):
            result = ctl("recipient", *args, stdin=both)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(result.stdout.decode().split(), [self.our_recipient, self.age_recipient])

    # ---- age encrypts, we decrypt ----

    def test_age_encrypts_we_decrypt_every_size(self):
        for size in SIZES:
            for armor in (False, True):
                with self.subTest(size=size, armor=armor):
                    plaintext = payload(size)
                    cmd = ["age", "-r", self.our_recipient] + (["-a"] if armor else [])
                    ciphertext = run(cmd, stdin=plaintext, check=True).stdout
                    result = ctl("decrypt", "-i", str(self.our_key), stdin=ciphertext)
                    self.assertEqual(result.returncode, 0, result.stderr)
                    self.assertTrue(result.stdout == plaintext, "plaintext differs")
                    self.assertEqual(result.stderr, b"")

    def test_age_keygen_identity_with_several_recipients_and_files(self):
        plaintext = payload(70000)
        recipients = self.write("recipients.txt", f"# team\n{self.our_recipient}\n\n{self.age_recipient}\n".encode())
        src = self.write("plain.bin", plaintext)
        enc = self.tmp / "multi.age"
        run(["age", "-R", str(recipients), "-o", str(enc), str(src)], check=True)
        for key in (self.our_key, self.age_key):
            out = self.tmp / "multi.out"
            result = ctl("decrypt", "-i", str(key), "-o", str(out), str(enc))
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(out.read_bytes(), plaintext)
            self.assertEqual(stat.S_IMODE(out.stat().st_mode), 0o600)
            out.unlink()

    # ---- we encrypt, age decrypts ----

    def test_we_encrypt_age_decrypts_every_size(self):
        for size in SIZES:
            for armor in (False, True):
                with self.subTest(size=size, armor=armor):
                    plaintext = payload(size)
                    args = ["encrypt", "-r", self.age_recipient] + (["-a"] if armor else [])
                    result = ctl(*args, stdin=plaintext)
                    self.assertEqual(result.returncode, 0, result.stderr)
                    if armor:
                        self.assertTrue(result.stdout.startswith(b"-----BEGIN AGE ENCRYPTED FILE-----\n"))
                    out = run(["age", "-d", "-i", str(self.age_key)], stdin=result.stdout)
                    self.assertEqual(out.returncode, 0, out.stderr)
                    self.assertTrue(out.stdout == plaintext, "plaintext differs")

    def test_we_encrypt_to_several_recipients_with_a_recipients_file(self):
        plaintext = payload(65537)
        third = self.tmp / "third.key"
        run(["age-keygen", "-o", str(third)], check=True)
        third_recipient = run(["age-keygen", "-y", str(third)], check=True).stdout.decode().strip()
        rfile = self.write("r.txt", f"{self.age_recipient}\n{third_recipient}\n".encode())
        src = self.write("p.bin", plaintext)
        enc = self.tmp / "ours-multi.age"
        result = ctl("encrypt", "-r", self.our_recipient, "-R", str(rfile), "-o", str(enc), str(src))
        self.assertEqual(result.returncode, 0, result.stderr)
        for key in (self.age_key, third, self.our_key):
            out = run(["age", "-d", "-i", str(key), str(enc)])
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertEqual(out.stdout, plaintext)

    # ---- failures ----

    def test_tampered_files_fail_with_no_output(self):
        plaintext = payload(200000)
        ciphertext = run(["age", "-r", self.our_recipient], stdin=plaintext, check=True).stdout
        header_end = ciphertext.index(b"\n---") + 1
        truncated = ciphertext[:-100]
        trailing = ciphertext + b"\x00"
        flipped_chunk = bytearray(ciphertext)
        flipped_chunk[header_end + 100] ^= 0x40
        for name, data, failure_class in [
            ("truncated", truncated, "payload"),
            ("trailing", trailing, "payload"),
            ("flipped chunk", bytes(flipped_chunk), "payload"),
            ("last byte", ciphertext[:-1] + bytes([ciphertext[-1] ^ 0x01]), "payload"),
            ("garbage", b"not an age file\n", "header"),
            ("empty", b"", "header"),
        ]:
            with self.subTest(name):
                src = self.write("tampered.age", data)
                out = self.tmp / "tampered.out"
                result = ctl("decrypt", "-i", str(self.our_key), "-o", str(out), str(src))
                self.assert_failed_cleanly(result, failure_class, out)
                result = ctl("decrypt", "-i", str(self.our_key), stdin=data)
                self.assert_failed_cleanly(result, failure_class)

    def test_header_mac_failure_is_named(self):
        ciphertext = bytearray(run(["age", "-r", self.our_recipient], stdin=CANARY, check=True).stdout)
        mac_start = ciphertext.index(b"\n--- ") + 5
        # Swap two different MAC characters: still canonical base64, wrong MAC.
        i = next(i for i in range(mac_start, mac_start + 40) if ciphertext[i] != ciphertext[i + 1])
        ciphertext[i], ciphertext[i + 1] = ciphertext[i + 1], ciphertext[i]
        self.assert_failed_cleanly(ctl("decrypt", "-i", str(self.our_key), stdin=bytes(ciphertext)), "header_mac")

    def test_wrong_identity_fails_with_no_identity_matched(self):
        ciphertext = run(["age", "-r", self.age_recipient], stdin=CANARY, check=True).stdout
        out = self.tmp / "nomatch.out"
        result = ctl("decrypt", "-i", str(self.our_key), "-o", str(out), stdin=ciphertext)
        self.assert_failed_cleanly(result, "no_identity_matched", out)

    def test_tampered_armor_fails(self):
        armored = run(["age", "-a", "-r", self.our_recipient], stdin=CANARY, check=True).stdout
        self.assert_failed_cleanly(ctl("decrypt", "-i", str(self.our_key), stdin=armored + b"junk\n"), "armor")

    def test_failed_decrypt_keeps_an_existing_output_file(self):
        out = self.write("existing.out", b"old contents")
        result = ctl("decrypt", "-i", str(self.our_key), "-o", str(out), stdin=b"age-encryption.org/v1\n")
        self.assertEqual(result.returncode, 1)
        self.assertEqual(out.read_bytes(), b"old contents")

    def test_bad_identity_file_never_echoes_the_key(self):
        key_line = self.our_key.read_text().splitlines()[-1]
        broken = key_line[:-1] + ("q" if key_line[-1] != "q" else "p")
        bad = self.write("bad.key", (broken + "\n").encode())
        result = ctl("decrypt", "-i", str(bad), stdin=b"x")
        self.assertEqual(result.returncode, 1)
        self.assertNotIn(broken[16:].encode(), result.stderr)
        self.assertRegex(result.stderr.decode(), r"\Aremo-brokerctl: decrypt: key: .*line 1")

    # ---- usage ----

    def test_usage_errors_exit_2(self):
        for args in (("decrypt",), ("decrypt", "--bogus"), ("encrypt",), ("encrypt", "-r"), ("keygen", "extra"),
                     ("recipient", "-x"), ("nosuchcommand",), ()):
            with self.subTest(args=args):
                result = ctl(*args)
                self.assertEqual(result.returncode, 2, result.stderr)
                self.assertIn(b"usage:", result.stderr)
                self.assertEqual(result.stdout, b"")

    def test_help_everywhere(self):
        for args in (("--help",), ("-h",), ("keygen", "--help"), ("recipient", "-h"), ("encrypt", "--help"),
                     ("decrypt", "-h")):
            with self.subTest(args=args):
                result = ctl(*args)
                self.assertEqual(result.returncode, 0)
                self.assertIn(b"usage:", result.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
