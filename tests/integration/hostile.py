"""The hostile-container harness: a real remo-broker (run by root, as under systemd's admin) and an attacker
that is what code inside a devcontainer is, a process running as the developer's non-root uid.

The attacker owns its project tree (it can rewrite its manifest), can connect to its project socket and
nothing else, and runs its attacks as separate processes under `setpriv --reuid`. Every test file named
test_hostile_*.py builds on this module; each test runs one attack and asserts what the broker must hold.
"""

import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import textwrap

import harness

# The devcontainer's uid and gid. Not in /etc/passwd on purpose: the broker must rely on SO_PEERCRED only.
ATTACKER_UID = 4242
ATTACKER_GID = 4242
AS_ATTACKER = ["setpriv", f"--reuid={ATTACKER_UID}", f"--regid={ATTACKER_GID}", "--clear-groups"]


def require_root(test_case):
    """The attacker needs a uid of its own, and only root can switch to it."""
    if os.geteuid() != 0:
        test_case.skipTest("the hostile-container suite runs the broker as root and the attacker as uid 4242")
    if not shutil.which("setpriv"):
        test_case.skipTest("setpriv (util-linux) is not installed")


class HostileBroker(harness.Broker):
    """A broker whose sandbox the attacker can traverse (to reach its socket) but not list or write, with
    project trees owned by the attacker."""

    def __init__(self, extra_args=(), env=None):
        super().__init__(extra_args=extra_args, env=env)
        os.chmod(self.sandbox, 0o711)
        # A copy of remo-brokerctl the attacker can execute wherever the build directory lives.
        self.tools = pathlib.Path(tempfile.mkdtemp(prefix="remo-attacker-tools-"))
        os.chmod(self.tools, 0o755)
        self.brokerctl = self.tools / "remo-brokerctl"
        shutil.copy2(harness.BROKERCTL, self.brokerctl)
        os.chmod(self.brokerctl, 0o755)

    def start(self, wait=True):
        super().start(wait=wait)
        run_dir = self.sandbox / "run"
        if run_dir.exists():
            os.chmod(run_dir, 0o711)
        return self

    def project_dir(self, name) -> pathlib.Path:
        return self.sandbox / "projects" / name

    def register_attacker_project(self, name, allow, extra="") -> dict:
        """Registers a project whose tree, manifest included, belongs to the attacker, served to its uid."""
        project_dir = self.project_dir(name)
        harness.write_manifest(project_dir, name, allow, extra)
        os.chmod(self.sandbox / "projects", 0o711)
        for path in [project_dir, *project_dir.rglob("*")]:
            os.chown(path, ATTACKER_UID, ATTACKER_GID)
        return self.admin({"op": "register", "name": name, "project_path": str(project_dir),
                           "uids": [ATTACKER_UID], "gid": ATTACKER_GID})

    def manifest_path(self, name) -> pathlib.Path:
        return self.project_dir(name) / ".devcontainer" / "remo-broker.toml"

    def cleanup(self):
        super().cleanup()
        shutil.rmtree(self.tools, ignore_errors=True)


def attacked_broker(test_case, secrets, allow=("GITHUB_TOKEN",), manifest_extra="", extra_args=()):
    """A started HostileBroker, cleaned up with test_case, holding secrets, with the attacker's project
    "webapp" registered to read allow (manifest_extra is appended to its manifest)."""
    require_root(test_case)
    broker = HostileBroker(extra_args=extra_args).start()
    test_case.addCleanup(broker.cleanup)
    test_case.assertTrue(broker.push(secrets)["ok"])
    test_case.assertTrue(broker.register_attacker_project("webapp", list(allow), manifest_extra)["ok"])
    return broker


def run_as_attacker(argv, input=None, timeout=60, env=None, cwd=None) -> subprocess.CompletedProcess:
    """Runs argv as the attacker's uid; returns the finished process (text mode)."""
    base_env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/nonexistent", "LANG": "C.UTF-8"}
    base_env.update(env or {})
    return subprocess.run(AS_ATTACKER + list(argv), input=input, capture_output=True, text=True,
                          timeout=timeout, env=base_env, cwd=cwd or "/")


def attack(script: str, timeout=60, env=None, **params) -> dict:
    """Runs a Python attack script as the attacker's uid. The script sees `params` (a dict of the keyword
    arguments, JSON-serialisable), the helpers `connect(path)`, `call(path, obj)` and `write(path, text)`,
    and ends by assigning `result`; its JSON is returned. Fails the calling test on any other exit."""
    prelude = textwrap.dedent("""
        import json, os, socket, sys, time
        params = json.loads(sys.argv[1])
        def connect(path, timeout=10.0):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(timeout)
            s.connect(path)
            return s
        def read_line(s, buffer=b""):
            while b"\\n" not in buffer:
                chunk = s.recv(65536)
                if not chunk:
                    raise ConnectionError("closed by broker")
                buffer += chunk
            line, _, rest = buffer.partition(b"\\n")
            return json.loads(line), rest
        def call(path, obj):
            with connect(path) as s:
                s.sendall(json.dumps(obj).encode() + b"\\n")
                return read_line(s)[0]
        def write(path, text):
            with open(path, "w") as f:
                f.write(text)
        result = None
    """)
    epilogue = "\nprint(json.dumps(result))\n"
    program = prelude + textwrap.dedent(script) + epilogue
    done = run_as_attacker([sys.executable, "-c", program, json.dumps(params)], timeout=timeout, env=env)
    if done.returncode != 0:
        raise AssertionError(f"attack script failed (exit {done.returncode}): {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])
