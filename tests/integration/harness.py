"""Shared helpers for the integration tests: a real remo-broker in a sandbox, raw NDJSON clients,
bundles made with the real `age` CLI, and canary searches.

Only the Python standard library is used here; tests that need jsonschema import it themselves.
"""

import base64
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import tempfile
import time

BROKER = os.environ.get("REMO_BROKER_BIN", "build/broker/remo-broker")
BROKERCTL = os.environ.get("REMO_BROKERCTL_BIN", "build/broker/remo-brokerctl")
SOURCE_DIR = pathlib.Path(os.environ.get("REMO_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))

CANARY = "CANARY-7c1e9a54d2b8-do-not-leak"


def age_keygen(path: pathlib.Path) -> str:
    """Writes an identity with the real age-keygen; returns its recipient."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["age-keygen", "-o", str(path)], check=True, capture_output=True)
    out = subprocess.run(["age-keygen", "-y", str(path)], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def age_encrypt(recipient: str, plaintext: bytes, armor: bool = False) -> bytes:
    cmd = ["age", "-r", recipient] + (["-a"] if armor else [])
    return subprocess.run(cmd, input=plaintext, check=True, capture_output=True).stdout


def bundle_toml(secrets: dict) -> bytes:
    lines = []
    for name, value in secrets.items():
        if isinstance(value, bytes):
            lines.append(f'{name} = {{ value_b64 = "{base64.b64encode(value).decode()}" }}')
        else:
            lines.append(f"{name} = {json.dumps(value)}")
    return ("\n".join(lines) + "\n").encode()


def write_manifest(project_dir: pathlib.Path, name: str, secrets: list, extra: str = "") -> None:
    (project_dir / ".devcontainer").mkdir(parents=True, exist_ok=True)
    allow = ", ".join(json.dumps(s) for s in secrets)
    (project_dir / ".devcontainer" / "remo-broker.toml").write_text(
        f'schema_version = 1\n[project]\nname = "{name}"\n[allowlist]\nsecrets = [{allow}]\n{extra}')


def built_with_asan() -> bool:
    """Whether the broker under test is the AddressSanitizer build: its RSS, its timing and mlock() (a no-op
    that reports success there) say nothing about the Release daemon."""
    with open(BROKER, "rb") as f:
        return b"__asan_init" in f.read()


def files_containing(root, needle: bytes, skip_parts=()):
    """Every regular file under root that contains needle, except those under a directory named in skip_parts."""
    hits = []
    for path in pathlib.Path(root).rglob("*"):
        if path.is_file() and not path.is_symlink() and not any(part in path.parts for part in skip_parts):
            try:
                if needle in path.read_bytes():
                    hits.append(path)
            except OSError:
                pass
    return hits


class Connection:
    """A raw NDJSON connection to one of the broker's sockets."""

    def __init__(self, path, timeout=10.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(str(path))
        except OSError:
            self.sock.close()
            raise
        self.buffer = b""

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send(self, obj) -> None:
        self.send_raw(json.dumps(obj).encode() + b"\n")

    def read_line(self) -> bytes:
        while b"\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed by broker")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line

    def reply(self) -> dict:
        return json.loads(self.read_line())

    def call(self, obj) -> dict:
        self.send(obj)
        return self.reply()

    def is_closed_by_peer(self, wait=5.0) -> bool:
        self.sock.settimeout(wait)
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Broker:
    """A remo-broker process in its own sandbox directory."""

    def __init__(self, sandbox=None, extra_args=(), env=None):
        self.owns_sandbox = sandbox is None
        self.sandbox = pathlib.Path(sandbox or tempfile.mkdtemp(prefix="remo-it-"))
        self.key_file = self.sandbox / "credentials" / "bootstrap-key"
        if not self.key_file.exists():
            self.recipient = age_keygen(self.key_file)
            os.chmod(self.key_file, 0o600)
        else:
            self.recipient = subprocess.run(["age-keygen", "-y", str(self.key_file)], check=True,
                                            capture_output=True, text=True).stdout.strip()
        self.extra_args = list(extra_args)
        self.env = env
        self.proc = None
        self.stderr_path = self.sandbox / "broker.stderr"

    @property
    def admin_socket(self):
        """DIR/admin/admin.sock; DIR/run/admin.sock when only that exists (a broker built before the admin
        socket moved out of the project socket directory, so that attack tests can be run against it)."""
        current = self.sandbox / "admin" / "admin.sock"
        legacy = self.sandbox / "run" / "admin.sock"
        if not os.path.lexists(current) and os.path.lexists(legacy):
            return legacy
        return current

    def project_socket(self, name):
        return self.sandbox / "run" / f"{name}.sock"

    @property
    def audit_log(self):
        return self.sandbox / "log" / "audit.log"

    def start(self, wait=True):
        env = dict(os.environ)
        env.pop("NOTIFY_SOCKET", None)
        if self.env:
            env.update(self.env)
        self.stderr_file = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen([BROKER, "--sandbox", str(self.sandbox)] + self.extra_args,
                                     stdin=subprocess.DEVNULL, stdout=self.stderr_file,
                                     stderr=self.stderr_file, env=env)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"broker exited with {self.proc.returncode}: {self.stderr()}")
            try:
                with Connection(self.admin_socket, timeout=1) as c:
                    if c.call({"op": "status"}).get("ok"):
                        return
            except (FileNotFoundError, ConnectionRefusedError, ConnectionError, socket.timeout):
                pass
            time.sleep(0.02)
        raise TimeoutError("broker did not become ready")

    def admin(self, obj) -> dict:
        with Connection(self.admin_socket) as c:
            return c.call(obj)

    def project(self, name, obj) -> dict:
        with Connection(self.project_socket(name)) as c:
            return c.call(obj)

    def push(self, secrets: dict, armor=False) -> dict:
        ciphertext = age_encrypt(self.recipient, bundle_toml(secrets), armor=armor)
        return self.admin({"op": "push-creds", "ciphertext_b64": base64.b64encode(ciphertext).decode()})

    def register(self, name, allow, **kwargs) -> dict:
        project_dir = self.sandbox / "projects" / name
        write_manifest(project_dir, name, allow)
        return self.admin({"op": "register", "name": name, "project_path": str(project_dir), **kwargs})

    def stop(self, sig=signal.SIGTERM, timeout=10.0) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.proc = None
        self.stderr_file.close()
        return code

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def audit_events(self):
        if not self.audit_log.exists():
            return []
        return [json.loads(line) for line in self.audit_log.read_text().splitlines() if line.strip()]

    def wait_audit(self, predicate, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            events = [e for e in self.audit_events() if predicate(e)]
            if events:
                return events
            time.sleep(0.02)
        return []

    def files_containing(self, needle: bytes):
        """Every file under the sandbox (except the test's own inputs) that contains needle."""
        return files_containing(self.sandbox, needle, skip_parts=("projects",))

    def cleanup(self):
        self.stop(signal.SIGKILL)
        if self.owns_sandbox:
            shutil.rmtree(self.sandbox, ignore_errors=True)
