"""remo-brokerctl git-credential with the real git, cloning over HTTP from a local server that requires
basic auth (git http-backend behind a small Python HTTP server).

Proves: git gets the token from the broker through the helper (config mapping with a username, and the
GIT_TOKEN_<HOST> convention), a wrong or denied secret fails the clone without a prompt, store/erase keep
nothing, and the token appears in no argv (sampled from /proc during the clone), no output and no file of
the clone or the home directory."""

import base64
import http.server
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import CANARY, Broker  # noqa: E402
from cli_harness import CTL, ArgvWatcher, ctl, files_containing  # noqa: E402

USER = "alice"
TOKEN = CANARY + "-git-token"
HTTP_BACKEND = "/usr/lib/git-core/git-http-backend"


class GitHttpHandler(http.server.BaseHTTPRequestHandler):
    """Basic auth in front of git http-backend (CGI)."""

    server_version = "remo-test-git/1"

    def log_message(self, *args):
        pass

    def handle_any(self):
        expected = "Basic " + base64.b64encode(f"{USER}:{TOKEN}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            self.server.rejected += 1
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="remo-test"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.server.accepted += 1
        path, _, query = self.path.partition("?")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        env = {"GIT_PROJECT_ROOT": str(self.server.root), "GIT_HTTP_EXPORT_ALL": "1", "PATH_INFO": path,
               "QUERY_STRING": query, "REQUEST_METHOD": self.command, "REMOTE_USER": USER,
               "CONTENT_TYPE": self.headers.get("Content-Type", ""), "CONTENT_LENGTH": str(len(body)),
               "PATH": os.environ["PATH"]}
        if self.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        out = subprocess.run([HTTP_BACKEND], input=body, capture_output=True, env=env).stdout
        head, _, payload = out.partition(b"\r\n\r\n")
        status = 200
        headers = []
        for line in head.split(b"\r\n"):
            name, _, value = line.decode().partition(": ")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers.append((name, value))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = handle_any
    do_POST = handle_any


class GitCredentialHelper(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = pathlib.Path(tempfile.mkdtemp(prefix="remo-git-"))
        cls.broker = Broker(cls.tmp / "instance").start()
        cls.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), GitHttpHandler)
        cls.server.root = cls.tmp / "served"
        cls.server.accepted = cls.server.rejected = 0
        cls.port = cls.server.server_address[1]
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()
        work = cls.tmp / "work"
        git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "init.defaultBranch=main"]
        subprocess.run(git + ["init", "-q", str(work)], check=True)
        (work / "README").write_text("hello over http\n")
        subprocess.run(git + ["-C", str(work), "add", "README"], check=True)
        subprocess.run(git + ["-C", str(work), "commit", "-q", "-m", "first"], check=True)
        subprocess.run(["git", "clone", "-q", "--bare", str(work), str(cls.server.root / "repo.git")], check=True)
        host_secret = f"GIT_TOKEN_127_0_0_1_{cls.port}"
        assert cls.broker.push({"MAPPED_TOKEN": TOKEN, host_secret: TOKEN, "WRONG_TOKEN": "not-the-token",
                                "DENIED_TOKEN": TOKEN})["ok"]
        assert cls.broker.register("myrepo", ["MAPPED_TOKEN", host_secret, "WRONG_TOKEN"])["ok"]
        cls.home = cls.tmp / "home"
        cls.home.mkdir()

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.broker.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def write_config(self, text):
        path = self.tmp / "git-credential.toml"
        path.write_text(text, encoding="utf-8")
        return path

    def clone(self, config_text, name):
        config = self.write_config(config_text)
        target = self.tmp / name
        helper = f"{CTL} git-credential --config {config}"
        env = dict(os.environ, HOME=str(self.home), GIT_TERMINAL_PROMPT="0", GIT_ASKPASS="/bin/false",
                   REMO_BROKER_SOCKET=str(self.broker.project_socket("myrepo")), GIT_CONFIG_NOSYSTEM="1")
        with ArgvWatcher() as watcher:
            result = subprocess.run(["git", "-c", "credential.helper=", "-c", f"credential.helper={helper}", "clone",
                                     "-q", f"http://127.0.0.1:{self.port}/repo.git", str(target)],
                                    capture_output=True, env=env, timeout=60)
        self.assertNotIn(CANARY.encode(), result.stdout + result.stderr)
        self.assertEqual(watcher.containing(CANARY.encode()), [])
        return result, target

    def assert_nothing_stored(self):
        self.assertEqual(files_containing(self.home, CANARY.encode()), [])
        for path in self.tmp.iterdir():
            if path.name.startswith("clone"):
                self.assertEqual(files_containing(path, CANARY.encode()), [])

    def test_clone_with_a_mapped_secret_and_username(self):
        rejected_before = self.server.rejected
        result, target = self.clone(f'[hosts."127.0.0.1:{self.port}"]\nsecret = "MAPPED_TOKEN"\nusername = "{USER}"\n',
                                    "clone-mapped")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual((target / "README").read_text(), "hello over http\n")
        self.assertGreater(self.server.rejected, rejected_before)  # the server did demand credentials
        self.assertGreater(self.server.accepted, 0)
        self.assert_nothing_stored()

    def test_clone_with_the_host_convention_and_the_url_username(self):
        config = self.write_config("")
        target = self.tmp / "clone-convention"
        env = dict(os.environ, HOME=str(self.home), GIT_TERMINAL_PROMPT="0", GIT_ASKPASS="/bin/false",
                   REMO_BROKER_SOCKET=str(self.broker.project_socket("myrepo")))
        result = subprocess.run(["git", "-c", "credential.helper=", "-c",
                                 f"credential.helper={CTL} git-credential --config {config}", "clone", "-q",
                                 f"http://{USER}@127.0.0.1:{self.port}/repo.git", str(target)],
                                capture_output=True, env=env, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertNotIn(CANARY.encode(), result.stdout + result.stderr)
        self.assert_nothing_stored()

    def test_wrong_and_denied_secrets_fail_without_a_prompt(self):
        wrong, _ = self.clone(f'[hosts."127.0.0.1"]\nsecret = "WRONG_TOKEN"\nusername = "{USER}"\n', "clone-wrong")
        self.assertNotEqual(wrong.returncode, 0)
        denied, _ = self.clone(f'[hosts."127.0.0.1"]\nsecret = "DENIED_TOKEN"\nusername = "{USER}"\n', "clone-denied")
        self.assertNotEqual(denied.returncode, 0)
        self.assertIn(b"no credential for 127.0.0.1", denied.stderr)
        self.assertIn(b"denied", denied.stderr)

    def test_helper_protocol_directly(self):
        env = {"REMO_BROKER_SOCKET": str(self.broker.project_socket("myrepo"))}
        config = self.write_config(f'[hosts."example.test"]\nsecret = "MAPPED_TOKEN"\n')
        got = ctl("git-credential", "--config", str(config), "get", input=b"protocol=https\nhost=example.test\n\n",
                  env=env)
        self.assertEqual(got.returncode, 0, got.stderr)
        self.assertEqual(got.stdout, f"username=x-access-token\npassword={TOKEN}\n".encode())
        for action in ("store", "erase"):
            quiet = ctl("git-credential", action, input=f"protocol=https\nhost=x\npassword={TOKEN}\n\n".encode(),
                        env=env)
            self.assertEqual((quiet.returncode, quiet.stdout, quiet.stderr), (0, b"", b""))
        broken = self.write_config("[hosts\n")
        bad = ctl("git-credential", "--config", str(broken), "get", input=b"host=example.test\n\n", env=env)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn(str(broken).encode(), bad.stderr)
        # Non-ASCII outside a string is refused before toml++ sees it (its 3.3 lexer has UB there).
        unsafe = self.write_config("[hosts]\n\"example.test\" = { secret = \"X\" }\u00a0\n")
        refused = ctl("git-credential", "--config", str(unsafe), "get", input=b"host=example.test\n\n", env=env)
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn(b"not accepted TOML", refused.stderr)
        no_host = ctl("git-credential", "--config", str(config), "get", input=b"protocol=https\n\n", env=env)
        self.assertEqual((no_host.returncode, no_host.stdout), (0, b""))
        self.assertEqual(ctl("git-credential").returncode, 2)


if __name__ == "__main__":
    unittest.main()
