"""Hostile container, finding 6 (second bullet): files remo-brokerctl writes for a privileged user.

An admin (root here) writes `remo-brokerctl decrypt -o PATH` (or encrypt/keygen -o) into a directory the
attacker (uid 4242) can write: its project tree, a shared /tmp. Before that, the attacker plants something
at PATH: a FIFO it reads from, a symbolic link to its FIFO or to a terminal it holds (a device), a symbolic
link to a file owned by someone else, or a regular file it keeps open. The CLI must write through none of
them, must not hang, and must leave a root-owned 0600 file or nothing at all.
"""

import json
import os
import pathlib
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
import unittest

import harness
import hostile

PLAINTEXT = ("db_password = \"" + harness.CANARY + "\"\n").encode()

# Runs as the attacker: plants the trap at params path, says "ready", then collects whatever reaches it
# until the stop file appears (or 20 s pass), and prints it as JSON.
TRAP = textwrap.dedent("""
    import json, os, sys, time, tty
    kind, path, stop = sys.argv[1], sys.argv[2], sys.argv[3]
    if kind in ("fifo", "symlink-to-fifo"):
        fifo = path if kind == "fifo" else path + ".attacker-fifo"
        os.mkfifo(fifo, 0o666)
        if kind != "fifo":
            os.symlink(fifo, path)
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    elif kind == "symlink-to-terminal":
        fd, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(fd, False)
        os.symlink(os.ttyname(slave), path)
    elif kind == "open-regular-file":
        with open(path, "w") as f:
            f.write("attacker's file\\n")
        os.chmod(path, 0o666)
        fd = os.open(path, os.O_RDONLY)
    print("ready", flush=True)
    got = b""
    deadline = time.time() + 20
    while time.time() < deadline and not os.path.exists(stop):
        try:
            got += os.read(fd, 65536)
        except (BlockingIOError, OSError):
            pass
        time.sleep(0.02)
    if kind == "open-regular-file":
        got += os.pread(fd, 65536, 0)
    print(json.dumps({"read": got.decode(errors="replace")}), flush=True)
""")


class CliOutputFileTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0 or not shutil.which("setpriv"):
            raise unittest.SkipTest("the hostile-container suite runs as root with setpriv")
        cls.keys = pathlib.Path(tempfile.mkdtemp(prefix="remo-admin-keys-"))  # root's, 0700
        cls.identity = cls.keys / "key.txt"
        recipient = harness.age_keygen(cls.identity)
        cls.ciphertext = cls.keys / "bundle.age"
        cls.ciphertext.write_bytes(harness.age_encrypt(recipient, PLAINTEXT))
        cls.recipient = recipient

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.keys, ignore_errors=True)

    def setUp(self):
        self.shared = pathlib.Path(tempfile.mkdtemp(prefix="remo-attacker-dir-"))  # the attacker's directory
        os.chmod(self.shared, 0o755)
        os.chown(self.shared, hostile.ATTACKER_UID, hostile.ATTACKER_GID)
        self.addCleanup(shutil.rmtree, self.shared, True)
        self.out = self.shared / "bundle.toml"

    def run_ctl(self, *args, timeout=15):
        """remo-brokerctl as root; a run that blocks (on a FIFO with no reader) fails the test."""
        try:
            return subprocess.run([harness.BROKERCTL, *args], capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            self.fail(f"remo-brokerctl {args[0]} hung writing {self.out}")

    def decrypt(self):
        return self.run_ctl("decrypt", "-i", str(self.identity), "-o", str(self.out), str(self.ciphertext))

    def with_trap(self, kind, command):
        """Plants the trap as the attacker, runs command() as root, returns (command's result, what the
        attacker read)."""
        stop = self.shared / "stop"
        trap = subprocess.Popen(hostile.AS_ATTACKER + [sys.executable, "-c", TRAP, kind, str(self.out), str(stop)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd="/",
                                env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
        try:
            self.assertEqual(trap.stdout.readline().strip(), "ready", trap.stderr.read() if trap.poll() else "")
            result = command()
        finally:
            stop.touch()
            out, err = trap.communicate(timeout=30)
        self.assertEqual(trap.returncode, 0, err)
        return result, json.loads(out.strip().splitlines()[-1])["read"]

    def assert_refused(self, result, what):
        self.assertNotEqual(result.returncode, 0, f"the CLI did not refuse the {what} at the output path")
        self.assertIn(b"refusing to write", result.stderr)
        self.assertIn(what.encode(), result.stderr)
        self.assertNotIn(harness.CANARY.encode(), result.stdout + result.stderr)

    def test_a_planted_fifo_receives_nothing(self):
        result, read = self.with_trap("fifo", self.decrypt)
        self.assertNotIn(harness.CANARY, read, "the attacker read the plaintext from its FIFO")
        self.assert_refused(result, "FIFO")
        self.assertTrue(stat.S_ISFIFO(os.lstat(self.out).st_mode))

    def test_a_symlink_to_a_fifo_receives_nothing(self):
        result, read = self.with_trap("symlink-to-fifo", self.decrypt)
        self.assertNotIn(harness.CANARY, read, "the attacker read the plaintext through its symlink")
        self.assert_refused(result, "symbolic link")

    def test_a_symlink_to_a_terminal_the_attacker_holds_receives_nothing(self):
        result, read = self.with_trap("symlink-to-terminal", self.decrypt)
        self.assertNotIn(harness.CANARY, read, "the attacker read the plaintext from its terminal")
        self.assert_refused(result, "symbolic link")

    def test_a_fifo_without_a_reader_does_not_hang_any_writer(self):
        os.mkfifo(self.out)
        os.chown(self.out, hostile.ATTACKER_UID, hostile.ATTACKER_GID)
        for args in (["decrypt", "-i", str(self.identity), "-o", str(self.out), str(self.ciphertext)],
                     ["encrypt", "-r", self.recipient, "-o", str(self.out), str(self.ciphertext)]):
            with self.subTest(command=args[0]):
                self.assert_refused(self.run_ctl(*args), "FIFO")
        self.assertTrue(stat.S_ISFIFO(os.lstat(self.out).st_mode))

    def test_a_symlink_to_another_users_file_is_neither_followed_nor_replaced(self):
        victim_dir = pathlib.Path(tempfile.mkdtemp(prefix="remo-victim-"))
        self.addCleanup(shutil.rmtree, victim_dir, True)
        os.chmod(victim_dir, 0o755)
        for owner, name in ((0, "root-owned.conf"), (4243, "other-user.conf")):
            with self.subTest(target=name):
                if os.path.lexists(self.out):
                    os.unlink(self.out)
                victim = victim_dir / name
                victim.write_text("precious\n")
                os.chown(victim, owner, owner)
                hostile.attack("os.symlink(params['target'], params['link']); result = True",
                               target=str(victim), link=str(self.out))
                for args in (["decrypt", "-i", str(self.identity), "-o", str(self.out), str(self.ciphertext)],
                             ["keygen", "-o", str(self.out)]):
                    self.assert_refused(self.run_ctl(*args), "symbolic link")
                self.assertEqual(victim.read_text(), "precious\n")
                self.assertEqual(os.readlink(self.out), str(victim))

    def test_a_directory_symlink_the_attacker_owns_does_not_pick_the_directory(self):
        victim_dir = pathlib.Path(tempfile.mkdtemp(prefix="remo-victim-"))  # say /etc/remo-broker
        self.addCleanup(shutil.rmtree, victim_dir, True)
        (victim_dir / "bundle.toml").write_text("precious\n")
        hostile.attack("os.symlink(params['target'], params['link']); result = True",
                       target=str(victim_dir), link=str(self.shared / "out"))
        self.out = self.shared / "out" / "bundle.toml"
        result = self.decrypt()
        self.assert_refused(result, "symbolic link owned by uid 4242")
        self.assertEqual((victim_dir / "bundle.toml").read_text(), "precious\n")
        self.assertEqual(sorted(p.name for p in victim_dir.iterdir()), ["bundle.toml"])
        # Root's own links on the way are followed as usual.
        own_link = self.keys / "to-shared"
        os.symlink(self.shared, own_link)
        self.addCleanup(os.unlink, own_link)
        self.out = own_link / "via-root-link.toml"
        self.assertEqual(self.decrypt().returncode, 0)
        self.assertEqual((self.shared / "via-root-link.toml").read_bytes(), PLAINTEXT)

    def test_a_planted_regular_file_is_replaced_not_written_into(self):
        result, read = self.with_trap("open-regular-file", self.decrypt)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertNotIn(harness.CANARY, read, "the plaintext went into the attacker's open file")
        st = os.lstat(self.out)
        self.assertEqual((st.st_uid, stat.S_IMODE(st.st_mode), stat.S_ISREG(st.st_mode)), (0, 0o600, True))
        self.assertEqual(self.out.read_bytes(), PLAINTEXT)

    def test_a_fresh_output_is_root_owned_0600_and_no_temporary_file_is_left(self):
        for args in (["decrypt", "-i", str(self.identity), "-o", str(self.out), str(self.ciphertext)],
                     ["encrypt", "-r", self.recipient, "-o", str(self.shared / "again.age"), str(self.ciphertext)],
                     ["keygen", "-o", str(self.shared / "new.key")]):
            with self.subTest(command=args[0]):
                result = self.run_ctl(*args)
                self.assertEqual(result.returncode, 0, result.stderr)
        for path in self.shared.iterdir():
            st = os.lstat(path)
            self.assertEqual((st.st_uid, stat.S_IMODE(st.st_mode)), (0, 0o600), path)
        self.assertEqual(sorted(p.name for p in self.shared.iterdir()), ["again.age", "bundle.toml", "new.key"])
        self.assertEqual(self.out.read_bytes(), PLAINTEXT)
        stdout = self.run_ctl("decrypt", "-i", str(self.identity), "-o", "-", str(self.ciphertext))
        self.assertEqual((stdout.returncode, stdout.stdout), (0, PLAINTEXT))


if __name__ == "__main__":
    unittest.main()
