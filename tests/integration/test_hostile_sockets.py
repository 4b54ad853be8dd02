"""Hostile container, finding 6 (third hole): the admin socket shared the project socket directory.

A devcontainer that bind-mounts the whole project socket directory (a plausible mistake) as a container root
without a user namespace is uid 0 to SO_PEERCRED and ignores directory permissions: any admin socket it can
reach, it can use. The admin socket must therefore live outside that directory, in a directory only the
broker's uid can traverse, and the compatibility path left in the project socket directory must lead
nowhere from inside such a mount.

The container is simulated with a private mount namespace (unshare -m) in which the sandbox (the analogue of
/run) is covered by an empty tmpfs and only the project socket directory is mounted back: what a container
with `-v /run/remo-broker:/run/remo-broker` sees. The probe runs there as root with every capability, the
worst case.
"""

import json
import os
import pathlib
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
import unittest

import harness
import hostile

SECRETS = {"GITHUB_TOKEN": "ghp-" + harness.CANARY}

# Connects to every socket path given (and every entry of the directories given) and asks for status; prints
# {path: outcome} where outcome is "admin" when the admin op was answered.
PROBE = textwrap.dedent(r"""
    import json, os, socket, sys
    paths = list(json.loads(sys.argv[1]))
    for directory in json.loads(sys.argv[2]):
        try:
            paths += [os.path.join(directory, name) for name in sorted(os.listdir(directory))]
        except OSError as error:
            paths.append(directory)
    outcome = {}
    for path in paths:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            s.connect(path)
            try:
                s.sendall(b'{"op":"status"}\n')
            except (BrokenPipeError, ConnectionResetError):
                pass  # a refused peer is answered and closed at once: its reply is still there to read
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            reply = json.loads(data) if data else {}
            outcome[path] = "admin" if reply.get("ok") and "projects" in reply else reply.get("code", "closed")
        except OSError as error:
            outcome[path] = type(error).__name__
        finally:
            s.close()
    print(json.dumps(outcome))
""")

# Inside a new mount namespace: cover the sandbox with an empty tmpfs and mount only its project socket
# directory back, at the same path and at a second one, then run the probe.
CONTAINER = textwrap.dedent(r"""
    set -eu
    sandbox=$1 run=$2 keep=$3 elsewhere=$4; shift 4
    mount --make-rprivate /
    mount --bind "$run" "$keep"
    mount -t tmpfs -o mode=0755 container-run "$sandbox"
    mkdir -p "$run"
    mount --bind "$keep" "$run"
    mount --bind "$keep" "$elsewhere"
    exec "$@"
""")


def require_unshare(test_case):
    if not shutil.which("unshare") or not shutil.which("mount"):
        test_case.skipTest("unshare and mount (util-linux) are needed")
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    if probe.returncode != 0:
        test_case.skipTest(f"cannot make a mount namespace here: {probe.stderr.decode().strip()}")


class AdminSocketSeparationTest(unittest.TestCase):
    def setUp(self):
        hostile.require_root(self)
        self.broker = hostile.HostileBroker().start()
        self.addCleanup(self.broker.cleanup)
        self.assertTrue(self.broker.push(SECRETS)["ok"])
        self.assertTrue(self.broker.register_attacker_project("webapp", ["GITHUB_TOKEN"])["ok"])
        self.run_dir = self.broker.sandbox / "run"
        self.legacy_admin = self.run_dir / "admin.sock"

    def in_container(self, paths, directories, elsewhere):
        keep = pathlib.Path(tempfile.mkdtemp(prefix="remo-keep-"))
        self.addCleanup(shutil.rmtree, keep, True)
        argv = ["unshare", "-m", "sh", "-c", CONTAINER, "container", str(self.broker.sandbox),
                str(self.run_dir), str(keep), str(elsewhere), sys.executable, "-c", PROBE,
                json.dumps([str(p) for p in paths]), json.dumps([str(d) for d in directories])]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        return json.loads(done.stdout.strip().splitlines()[-1])

    def test_root_in_a_container_mounting_the_socket_directory_cannot_reach_the_admin_socket(self):
        require_unshare(self)
        elsewhere = pathlib.Path(tempfile.mkdtemp(prefix="remo-container-mount-"))
        self.addCleanup(shutil.rmtree, elsewhere, True)
        outcome = self.in_container(
            [self.broker.admin_socket, self.legacy_admin, self.run_dir / "admin" / "admin.sock"],
            [self.run_dir, elsewhere], elsewhere)
        print(f"\nfrom the container: {outcome}", file=sys.stderr)
        reached = [path for path, result in outcome.items() if result == "admin"]
        self.assertEqual(reached, [], "root in a container that mounts the socket directory reached the admin "
                                      "socket")
        # The mount itself works: the project socket is there, and refuses root (not one of its uids).
        self.assertEqual(outcome[str(self.run_dir / "webapp.sock")], "peer_unexpected")
        # The broker still serves its admin outside the container, also at the old path.
        self.assertTrue(self.broker.admin({"op": "status"})["ok"])

    def test_the_admin_socket_is_in_a_directory_only_the_brokers_uid_can_traverse(self):
        admin_dir = self.broker.admin_socket.parent
        info = os.stat(admin_dir)
        self.assertEqual(stat.S_IMODE(info.st_mode), 0o700)
        self.assertEqual(info.st_uid, os.getuid(), "the broker (run by this uid) owns its admin directory")
        self.assertTrue(stat.S_ISSOCK(os.stat(self.broker.admin_socket).st_mode))
        self.assertNotIn(self.run_dir, self.broker.admin_socket.parents)
        self.assertNotIn(admin_dir, self.run_dir.parents)
        reply = hostile.attack("""
            outcome = {}
            for path in params["paths"]:
                try:
                    outcome[path] = call(path, {"op": "status"}).get("code", "ok")
                except OSError as error:
                    outcome[path] = type(error).__name__
            result = outcome
        """, paths=[str(self.broker.admin_socket), str(self.legacy_admin)])
        self.assertEqual(set(reply.values()), {"PermissionError"}, reply)

    def test_the_project_socket_directory_holds_no_admin_socket(self):
        entries = {entry.name: entry for entry in self.run_dir.iterdir()}
        sockets = sorted(name for name, entry in entries.items()
                         if stat.S_ISSOCK(entry.lstat().st_mode))
        self.assertEqual(sockets, ["webapp.sock"], "only project sockets are files in the socket directory")
        # What is left of the old path is a link whose target is outside the directory.
        self.assertTrue(self.legacy_admin.is_symlink(), "the old path is a link, not the admin socket")
        target = pathlib.Path(os.readlink(self.legacy_admin))
        self.assertTrue(target.is_absolute())
        self.assertNotIn(self.run_dir, target.parents)
        self.assertEqual(target, self.broker.admin_socket)

    def test_old_clients_still_reach_the_admin_socket_at_its_former_path(self):
        with harness.Connection(self.legacy_admin) as admin:
            self.assertTrue(admin.call({"op": "status"})["ok"])
        done = subprocess.run([harness.BROKERCTL, "admin", "status", "--json", "--socket", str(self.legacy_admin)],
                              capture_output=True, text=True, timeout=30)
        self.assertEqual(done.returncode, 0, done.stderr)

    def test_the_link_is_removed_at_stop_and_made_again_at_start(self):
        self.broker.stop()
        self.assertFalse(os.path.lexists(self.legacy_admin))
        self.assertFalse(os.path.lexists(self.broker.admin_socket))
        self.broker.start()
        self.assertTrue(self.legacy_admin.is_symlink())
        with harness.Connection(self.legacy_admin) as admin:
            self.assertTrue(admin.call({"op": "status"})["ok"])


class AdminSocketDirectoryRefusalTest(unittest.TestCase):
    """Configurations and leftovers that would put the admin socket where it does not belong: loud."""

    def setUp(self):
        hostile.require_root(self)
        self.sandbox = pathlib.Path(tempfile.mkdtemp(prefix="remo-it-"))
        self.addCleanup(shutil.rmtree, self.sandbox, True)

    def start_fails(self, *args) -> str:
        broker = harness.Broker(sandbox=self.sandbox, extra_args=list(args))
        broker.start(wait=False)
        try:
            code = broker.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            broker.cleanup()
            self.fail("the broker started")
        broker.stop()
        self.assertNotEqual(code, 0)
        return broker.stderr()

    def test_an_admin_socket_directory_inside_the_socket_directory_is_refused(self):
        for admin_dir in [self.sandbox / "run" / "admin", self.sandbox / "run", self.sandbox]:
            with self.subTest(admin_dir=admin_dir):
                stderr = self.start_fails("--admin-socket-dir", str(admin_dir))
                self.assertIn("must be separate directories", stderr)

    def test_an_admin_directory_owned_by_another_uid_is_refused(self):
        admin_dir = self.sandbox / "admin"
        admin_dir.mkdir(mode=0o700)
        os.chown(admin_dir, hostile.ATTACKER_UID, hostile.ATTACKER_GID)
        stderr = self.start_fails()
        self.assertIn("belongs to uid 4242", stderr)

    def test_an_admin_directory_that_is_a_link_is_refused(self):
        elsewhere = pathlib.Path(tempfile.mkdtemp(prefix="remo-elsewhere-"))
        self.addCleanup(shutil.rmtree, elsewhere, True)
        (self.sandbox / "admin").symlink_to(elsewhere)
        stderr = self.start_fails()
        self.assertIn("is not a directory", stderr)
        self.assertEqual(list(elsewhere.iterdir()), [], "nothing was bound through the link")

    def test_an_existing_admin_directory_is_narrowed_to_0700(self):
        admin_dir = self.sandbox / "admin"
        admin_dir.mkdir()
        os.chmod(admin_dir, 0o755)  # what systemd's RuntimeDirectoryMode= makes it
        broker = harness.Broker(sandbox=self.sandbox).start()
        self.addCleanup(broker.cleanup)
        self.assertEqual(stat.S_IMODE(os.stat(admin_dir).st_mode), 0o700)


if __name__ == "__main__":
    unittest.main()
