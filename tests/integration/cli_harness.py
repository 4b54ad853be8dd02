"""Helpers for the remo-brokerctl integration tests: running the CLI, watching every process's argv while
it runs, a real sshd on 127.0.0.1 with throwaway keys, and canary searches of outputs and files."""

import os
import pathlib
import shutil
import socket
import subprocess
import threading
import time

from harness import BROKERCTL, files_containing  # noqa: F401 (re-exported for the CLI tests)

CTL = os.path.abspath(BROKERCTL)


def ctl(*args, input=None, env=None, timeout=60):
    """Runs remo-brokerctl; returns the CompletedProcess (bytes)."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    if isinstance(input, str):
        input = input.encode()
    return subprocess.run([CTL, *args], input=input if input is not None else b"", capture_output=True,
                          env=full_env, timeout=timeout)


class ArgvWatcher:
    """Samples /proc/*/cmdline in a thread while a block runs; `seen` holds every argv observed."""

    def __init__(self):
        self.seen = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            for entry in os.listdir("/proc"):
                if entry.isdigit():
                    try:
                        with open(f"/proc/{entry}/cmdline", "rb") as f:
                            self.seen.add(f.read())
                    except OSError:
                        pass
            time.sleep(0.001)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def containing(self, needle: bytes):
        return [argv for argv in self.seen if needle in argv]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sshd:
    """A real OpenSSH sshd on 127.0.0.1:<free port> with throwaway host and user keys in directory.

    It runs as root (the tests do), accepts the user key for the current user only, and sets
    REMO_BROKER_ADMIN_SOCKET in sessions so the instance-side remo-brokerctl finds the sandbox broker."""

    def __init__(self, directory: pathlib.Path, admin_socket: pathlib.Path):
        self.dir = pathlib.Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.host_key = self.dir / "host_ed25519"
        self.user_key = self.dir / "user_ed25519"
        self.known_hosts = self.dir / "known_hosts"
        self.log = self.dir / "sshd.log"
        for key in (self.host_key, self.user_key):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        (self.dir / "authorized_keys").write_bytes((self.dir / "user_ed25519.pub").read_bytes())
        host_pub = (self.dir / "host_ed25519.pub").read_text().split()
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {host_pub[0]} {host_pub[1]}\n")
        self.config = self.dir / "sshd_config"
        self.config.write_text("\n".join([
            f"Port {self.port}", "ListenAddress 127.0.0.1", f"HostKey {self.host_key}",
            f"PidFile {self.dir / 'sshd.pid'}", f"AuthorizedKeysFile {self.dir / 'authorized_keys'}",
            "PasswordAuthentication no", "KbdInteractiveAuthentication no", "PubkeyAuthentication yes",
            "PermitRootLogin prohibit-password", "UsePAM no", "StrictModes no", "LogLevel VERBOSE",
            f"SetEnv REMO_BROKER_ADMIN_SOCKET={admin_socket}", ""]))
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege separation directory
        self.proc = None

    @staticmethod
    def available() -> bool:
        return os.geteuid() == 0 and os.path.exists("/usr/sbin/sshd") and shutil.which("ssh") is not None

    def start(self):
        self.log_file = open(self.log, "ab")
        self.proc = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", str(self.config)],
                                     stdout=self.log_file, stderr=self.log_file, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("sshd exited: " + self.log.read_text(errors="replace"))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    if s.recv(4).startswith(b"SSH-"):
                        return self
            except OSError:
                time.sleep(0.05)
        raise TimeoutError("sshd did not start")

    def client_options(self, port=None, known_hosts=None):
        """--ssh-option arguments for remo-brokerctl push."""
        options = [f"Port={port or self.port}", f"IdentityFile={self.user_key}", "IdentitiesOnly=yes",
                   f"UserKnownHostsFile={known_hosts or self.known_hosts}", "StrictHostKeyChecking=yes",
                   "GlobalKnownHostsFile=/dev/null", "BatchMode=yes", "ConnectTimeout=5"]
        args = []
        for option in options:
            args += ["--ssh-option", option]
        return args

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
            self.log_file.close()
