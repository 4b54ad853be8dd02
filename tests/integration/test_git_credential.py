"""remo-brokerctl git-credential with the real git: clones over HTTPS (and plain HTTP where an entry allows
it) from a local git http-backend behind basic auth, and `git credential fill` for crafted URLs.

Proves: git gets the token from the broker through the helper (config mapping with a username, and the
GIT_TOKEN_<HOST> convention); a token goes only to the exact origin it belongs to (no look-alike host,
other port, case/trailing-dot confusion, userinfo or path trick gets it); plain http is answered only for
an entry with allow_http; a request git would never send (NUL, repeated fields, url=) gets no answer; the
config file must be trusted and cannot bind a GIT_TOKEN_ secret to another host; store/erase keep
nothing; and the token appears in no argv, no output and no file of the clone or the home directory."""

import os
import pathlib
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import CANARY, Broker  # noqa: E402
from cli_harness import CTL, ArgvWatcher, ctl, files_containing  # noqa: E402
import git_server  # noqa: E402

USER = "alice"
TOKEN = CANARY + "-git-token"
LOOKALIKE_TOKENS = {  # one distinct value per secret, so a test can tell which one git was given
    "GIT_TOKEN_GITLAB_MYCORP_COM": CANARY + "-gitlab-443",
    "GIT_TOKEN_GITLAB_MYCORP_COM_8443": CANARY + "-gitlab-8443",
    "GITLAB_PORT_TOKEN": CANARY + "-entry-8443",
    "HYPHEN_HOST_TOKEN": CANARY + "-hyphen-host",
}


class GitCredentialHelper(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = pathlib.Path(tempfile.mkdtemp(prefix="remo-git-"))
        cls.broker = Broker(cls.tmp / "instance").start()
        served = cls.tmp / "served"
        cert = git_server.make_certificate(cls.tmp / "tls", dns_names=["localhost"], ip_addresses=["127.0.0.1"])
        cls.ca_file = cert[0]
        cls.http = git_server.serve(git_server.GitBackendHandler, root=served, user=USER, password=TOKEN)
        cls.https = git_server.serve(git_server.GitBackendHandler, certificate=cert, root=served, user=USER,
                                     password=TOKEN)
        work = cls.tmp / "work"
        git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "init.defaultBranch=main"]
        subprocess.run(git + ["init", "-q", str(work)], check=True)
        (work / "README").write_text("hello over http\n")
        subprocess.run(git + ["-C", str(work), "add", "README"], check=True)
        subprocess.run(git + ["-C", str(work), "commit", "-q", "-m", "first"], check=True)
        subprocess.run(["git", "clone", "-q", "--bare", str(work), str(served / "repo.git")], check=True)
        cls.https_secret = f"GIT_TOKEN_127_0_0_1_{cls.https.port}"
        cls.http_secret = f"GIT_TOKEN_127_0_0_1_{cls.http.port}"
        secrets = {"MAPPED_TOKEN": TOKEN, cls.https_secret: TOKEN, cls.http_secret: TOKEN,
                   "WRONG_TOKEN": "not-the-token", "DENIED_TOKEN": TOKEN, **LOOKALIKE_TOKENS}
        assert cls.broker.push(secrets)["ok"]
        allowed = [name for name in secrets if name != "DENIED_TOKEN"]
        assert cls.broker.register("myrepo", allowed)["ok"]
        cls.home = cls.tmp / "home"
        cls.home.mkdir()

    @classmethod
    def tearDownClass(cls):
        cls.http.shutdown()
        cls.https.shutdown()
        cls.broker.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def env(self):
        return dict(os.environ, HOME=str(self.home), GIT_TERMINAL_PROMPT="0", GIT_ASKPASS="/bin/false",
                    GIT_CONFIG_NOSYSTEM="1", GIT_SSL_CAINFO=str(self.ca_file),  # it overrides http.sslCAInfo
                    REMO_BROKER_SOCKET=str(self.broker.project_socket("myrepo")))

    def write_config(self, text, name="git-credential.toml"):
        path = self.tmp / name
        path.write_text(text, encoding="utf-8")
        os.chmod(path, 0o644)
        return path

    def clone(self, config_text, name, url):
        config = self.write_config(config_text)
        target = self.tmp / name
        helper = f"{CTL} git-credential --config {config}"
        with ArgvWatcher() as watcher:
            result = subprocess.run(["git", "-c", "credential.helper=", "-c", f"credential.helper={helper}",
                                     "clone", "-q", url, str(target)],
                                    capture_output=True, env=self.env(), timeout=60)
        self.assertNotIn(CANARY.encode(), result.stdout + result.stderr)
        self.assertEqual(watcher.containing(CANARY.encode()), [])
        return result, target

    def https_url(self, user=""):
        return f"https://{user}127.0.0.1:{self.https.port}/repo.git"

    def fill(self, url_or_fields, config_text="", extra_git_config=()):
        """`git credential fill` through the helper; returns (password or None, username, stderr)."""
        config = self.write_config(config_text, "fill.toml")
        fields = url_or_fields if "\n" in url_or_fields else f"url={url_or_fields}\n"
        git = ["git", "-c", "credential.helper=", "-c", f"credential.helper={CTL} git-credential --config {config}"]
        for item in extra_git_config:
            git += ["-c", item]
        result = subprocess.run(git + ["credential", "fill"], input=(fields + "\n").encode(), capture_output=True,
                                env=self.env(), timeout=30)
        answer = dict(line.split("=", 1) for line in result.stdout.decode().splitlines() if "=" in line)
        return answer.get("password"), answer.get("username"), result.stderr.decode()

    def helper(self, request: bytes, config_text=""):
        config = self.write_config(config_text, "direct.toml")
        return ctl("git-credential", "--config", str(config), "get", input=request,
                   env={"REMO_BROKER_SOCKET": str(self.broker.project_socket("myrepo"))})

    def assert_nothing_stored(self):
        self.assertEqual(files_containing(self.home, CANARY.encode()), [])
        for path in self.tmp.iterdir():
            if path.name.startswith("clone"):
                self.assertEqual(files_containing(path, CANARY.encode()), [])

    # ---- clones with the real git ----

    def test_clone_over_https_with_a_mapped_secret_and_username(self):
        rejected_before = self.https.rejected
        result, target = self.clone(f'[hosts."127.0.0.1:{self.https.port}"]\nsecret = "MAPPED_TOKEN"\n'
                                    f'username = "{USER}"\n', "clone-mapped", self.https_url())
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual((target / "README").read_text(), "hello over http\n")
        self.assertGreater(self.https.rejected, rejected_before)  # the server did demand credentials
        self.assertGreater(self.https.accepted, 0)
        self.assert_nothing_stored()

    def test_clone_over_https_with_the_host_convention_and_the_url_username(self):
        result, target = self.clone("", "clone-convention", self.https_url(f"{USER}@"))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual((target / "README").read_text(), "hello over http\n")
        self.assert_nothing_stored()

    def test_plain_http_is_answered_only_for_an_entry_with_allow_http(self):
        url = f"http://{USER}@127.0.0.1:{self.http.port}/repo.git"
        accepted_before = self.http.accepted
        convention, _ = self.clone("", "clone-http-convention", url)
        self.assertNotEqual(convention.returncode, 0)
        self.assertIn(b"plain http", convention.stderr)
        entry = f'[hosts."127.0.0.1:{self.http.port}"]\nsecret = "MAPPED_TOKEN"\n'
        without, _ = self.clone(entry, "clone-http-without", url)
        self.assertNotEqual(without.returncode, 0)
        self.assertIn(b"allow_http", without.stderr)
        self.assertEqual(self.http.accepted, accepted_before, "a token went over plain http")
        allowed, target = self.clone(entry + "allow_http = true\n", "clone-http-allowed", url)
        self.assertEqual(allowed.returncode, 0, allowed.stderr)
        self.assertEqual((target / "README").read_text(), "hello over http\n")
        self.assert_nothing_stored()

    def test_wrong_and_denied_secrets_fail_without_a_prompt(self):
        key = f'[hosts."127.0.0.1:{self.https.port}"]\n'
        wrong, _ = self.clone(key + f'secret = "WRONG_TOKEN"\nusername = "{USER}"\n', "clone-wrong", self.https_url())
        self.assertNotEqual(wrong.returncode, 0)
        denied, _ = self.clone(key + f'secret = "DENIED_TOKEN"\nusername = "{USER}"\n', "clone-denied",
                               self.https_url())
        self.assertNotEqual(denied.returncode, 0)
        self.assertIn(f"no credential for https://127.0.0.1:{self.https.port}".encode(), denied.stderr)
        self.assertIn(b"denied", denied.stderr)

    # ---- which origin gets which token (git credential fill parses each URL) ----

    def test_a_conventional_token_goes_only_to_its_own_host(self):
        own = LOOKALIKE_TOKENS["GIT_TOKEN_GITLAB_MYCORP_COM"]
        for url in ["https://gitlab.mycorp.com/group/repo.git", "https://GitLab.MyCorp.COM/repo.git",
                    "https://gitlab.mycorp.com./repo.git", "https://gitlab.mycorp.com:443/repo.git"]:
            with self.subTest(url=url):
                self.assertEqual(self.fill(url)[0], own)
        self.assertEqual(self.fill("https://gitlab.mycorp.com:8443/r.git")[0],
                         LOOKALIKE_TOKENS["GIT_TOKEN_GITLAB_MYCORP_COM_8443"])
        for url in ["https://gitlab-mycorp.com/repo.git", "https://GITLAB-MYCORP.COM./repo.git",
                    "https://gitlab_mycorp.com/repo.git", "https://gitlab.mycorp.com.evil.example/repo.git",
                    "https://gitlab.mycorp.com.8443/repo.git", "https://gitlab.mycorp.com@evil.example/repo.git",
                    "https://gitlab.mycorp.com:8443@evil.example/repo.git", "https://gitlab.mycorp.com%2eevil.example/r",
                    "https://gitl\u0430b.mycorp.com/repo.git", "https://xn--gitlab-mycorp-abc.com/repo.git",
                    "https://gitlab.mycorp.com:08443/r.git", "https://[::1]:8443/repo.git",
                    "http://gitlab.mycorp.com/repo.git", "http://gitlab.mycorp.com:443/repo.git",
                    "ftp://gitlab.mycorp.com/repo.git"]:
            with self.subTest(url=url):
                password, _, stderr = self.fill(url)
                self.assertNotIn(CANARY, password or "", f"{url} was given a token")
                self.assertNotIn(CANARY, stderr)

    def test_the_path_never_selects_a_token(self):
        for url in ["https://evil.example/gitlab.mycorp.com/repo.git",
                    "https://evil.example/https://gitlab.mycorp.com/repo.git"]:
            with self.subTest(url=url):
                password, _, _ = self.fill(url, extra_git_config=["credential.useHttpPath=true"])
                self.assertIsNone(password)
        with_path = self.fill("https://gitlab.mycorp.com/a/b.git", extra_git_config=["credential.useHttpPath=true"])
        self.assertEqual(with_path[0], LOOKALIKE_TOKENS["GIT_TOKEN_GITLAB_MYCORP_COM"])

    def test_the_url_username_is_passed_on_for_the_same_host(self):
        password, username, _ = self.fill("https://evil@gitlab.mycorp.com/repo.git")
        self.assertEqual((password, username), (LOOKALIKE_TOKENS["GIT_TOKEN_GITLAB_MYCORP_COM"], "evil"))

    def test_an_entry_names_exactly_one_host_and_port(self):
        config = ('[hosts."GitLab.MyCorp.com:8443"]\nsecret = "GITLAB_PORT_TOKEN"\n'
                  '[hosts."gitlab-mycorp.com."]\nsecret = "HYPHEN_HOST_TOKEN"\n')
        self.assertEqual(self.fill("https://gitlab.mycorp.com:8443/r", config)[0], LOOKALIKE_TOKENS["GITLAB_PORT_TOKEN"])
        self.assertEqual(self.fill("https://gitlab-mycorp.com/r", config)[0], LOOKALIKE_TOKENS["HYPHEN_HOST_TOKEN"])
        self.assertIsNone(self.fill("https://gitlab-mycorp.com:8443/r", config)[0])
        self.assertIsNone(self.fill("http://gitlab-mycorp.com/r", config)[0])
        # A host without an entry keeps its conventional name; an entry's port is not the default port's.
        self.assertEqual(self.fill("https://gitlab.mycorp.com/r", config)[0],
                         LOOKALIKE_TOKENS["GIT_TOKEN_GITLAB_MYCORP_COM"])
        only_default = '[hosts."gitlab-mycorp.com"]\nsecret = "HYPHEN_HOST_TOKEN"\n'
        self.assertIsNone(self.fill("https://gitlab-mycorp.com:8443/r", only_default)[0])
        _, _, stderr = self.fill("https://gitlab-mycorp.com/r")
        self.assertIn("no GIT_TOKEN_ name", stderr)

    # ---- the config file ----

    def test_an_entry_cannot_bind_a_git_token_secret_to_another_host(self):
        for key, secret in [("gitlab-mycorp.com", "GIT_TOKEN_GITLAB_MYCORP_COM"),
                            ("gitlab.mycorp.com:8443", "GIT_TOKEN_GITLAB_MYCORP_COM"),
                            ("evil.example", "git_token_gitlab_mycorp_com")]:
            with self.subTest(key=key):
                password, _, stderr = self.fill(f"https://{key}/r", f'[hosts."{key}"]\nsecret = "{secret}"\n')
                self.assertIsNone(password)
                self.assertIn("belongs by its name to another host", stderr)
        same = '[hosts."gitlab.mycorp.com"]\nsecret = "GIT_TOKEN_GITLAB_MYCORP_COM"\nusername = "oauth2"\n'
        self.assertEqual(self.fill("https://gitlab.mycorp.com/r", same)[:2],
                         (LOOKALIKE_TOKENS["GIT_TOKEN_GITLAB_MYCORP_COM"], "oauth2"))

    def test_a_broken_or_ambiguous_config_answers_nothing(self):
        cases = {
            "[hosts\n": "fill.toml",
            '[hosts."gitlab.mycorp.com"]\nsecret = "MAPPED_TOKEN"\n[hosts."GITLAB.MYCORP.COM."]\nsecret = "X"\n':
                "names the same host",
            '[hosts."gitlab.mycorp.com"]\nsecret = "MAPPED_TOKEN"\nallow-http = true\n': "unknown field",
            '[hosts."gitlab.mycorp.com"]\nsecret = "MAPPED_TOKEN"\nusername = "a\\nhost=evil"\n': "username",
            '[hosts."user@gitlab.mycorp.com"]\nsecret = "MAPPED_TOKEN"\n': "only letters",
            '[hosts."gitlab.mycorp.com"]\nsecret = "MAPPED_TOKEN"\nallow_http = "yes"\n': "allow_http",
            '[host."gitlab.mycorp.com"]\nsecret = "MAPPED_TOKEN"\n': "unknown table",
        }
        for text, reason in cases.items():
            with self.subTest(config=text):
                password, _, stderr = self.fill("https://gitlab.mycorp.com/r", text)
                self.assertIsNone(password)
                self.assertIn(reason, stderr)

    def test_a_config_others_may_write_is_not_trusted(self):
        entry = '[hosts."gitlab-mycorp.com"]\nsecret = "HYPHEN_HOST_TOKEN"\n'
        config = self.write_config(entry, "shared.toml")
        os.chmod(config, 0o664)
        request = b"protocol=https\nhost=gitlab-mycorp.com\n\n"
        env = {"REMO_BROKER_SOCKET": str(self.broker.project_socket("myrepo"))}
        group_writable = ctl("git-credential", "--config", str(config), "get", input=request, env=env)
        self.assertNotIn(CANARY.encode(), group_writable.stdout)
        self.assertIn(b"writable by its group or by others", group_writable.stderr)
        os.chmod(config, 0o644)
        if os.geteuid() == 0:  # only root can give the file to another user
            os.chown(config, 4243, 4243)
            foreign = ctl("git-credential", "--config", str(config), "get", input=request, env=env)
            self.assertNotIn(CANARY.encode(), foreign.stdout)
            self.assertIn(b"owned by uid 4243", foreign.stderr)
        fifo = self.tmp / "fifo.toml"
        os.mkfifo(fifo)
        hung = ctl("git-credential", "--config", str(fifo), "get", input=request, env=env, timeout=10)
        self.assertIn(b"not a regular file", hung.stderr)

    # ---- git's protocol, crafted ----

    def test_requests_git_never_sends_get_no_answer(self):
        crafted = {
            b"protocol=https\nhost=gitlab.mycorp.com\x00.evil.example\n\n": b"NUL",
            b"protocol=https\nhost=evil.example\nhost=gitlab.mycorp.com\n\n": b"twice",
            b"protocol=https\nhost=gitlab.mycorp.com\nprotocol=http\n\n": b"twice",
            b"url=https://gitlab.mycorp.com/\nprotocol=https\nhost=gitlab.mycorp.com\n\n": b"url=",
            b"protocol=https\nhost=gitlab.mycorp.com\r\n\n": b"printable ASCII",
            b"protocol=https\nhost=evil@gitlab.mycorp.com\n\n": b"only letters",
            b"protocol=https\nhost=gitlab.mycorp.com/evil\n\n": b"only letters",
            b"protocol=https\nhost=gitlab.mycorp.com evil\n\n": b"printable ASCII",
            b"protocol=https\nhost=gitlab.mycorp.com..\n\n": b"empty",
            b"protocol=https\nhost=gitlab.mycorp.com:\n\n": b"port",
            b"protocol=https\nhost=gitlab.mycorp.com:443:443\n\n": b"more than one",
            b"protocol=HTTPS\nhost=gitlab.mycorp.com\n\n": b"only https",
            b"host=gitlab.mycorp.com\n\n": b"only https",
            b"protocol=https\nhost=gitlab.mycorp.com\nusername=a\x01b\n\n": b"control",
            b"protocol=https\nhost=gitlab.mycorp.com\ngarbage\n\n": b"key=value",
        }
        for request, reason in crafted.items():
            with self.subTest(request=request):
                got = self.helper(request)
                self.assertNotIn(CANARY.encode(), got.stdout)
                self.assertEqual(got.stdout, b"")
                self.assertNotEqual(got.returncode, 0)
                self.assertIn(reason, got.stderr)
                self.assertEqual(got.stderr.count(b"\n"), 1, got.stderr)

    def test_helper_protocol_directly(self):
        env = {"REMO_BROKER_SOCKET": str(self.broker.project_socket("myrepo"))}
        config = self.write_config('[hosts."example.test"]\nsecret = "MAPPED_TOKEN"\n')
        request = b"protocol=https\nhost=example.test\ncapability[]=authtype\nwwwauth[]=Basic realm=x\n\n"
        got = ctl("git-credential", "--config", str(config), "get", input=request, env=env)
        self.assertEqual(got.returncode, 0, got.stderr)
        self.assertEqual(got.stdout, f"username=x-access-token\npassword={TOKEN}\n".encode())
        for action in ("store", "erase"):
            quiet = ctl("git-credential", action, input=f"protocol=https\nhost=x\npassword={TOKEN}\n\n".encode(),
                        env=env)
            self.assertEqual((quiet.returncode, quiet.stdout, quiet.stderr), (0, b"", b""))
        broken = self.write_config("[hosts\n", "broken.toml")
        bad = ctl("git-credential", "--config", str(broken), "get", input=b"protocol=https\nhost=example.test\n\n",
                  env=env)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn(str(broken).encode(), bad.stderr)
        # Non-ASCII outside a string is refused before toml++ sees it (its 3.3 lexer has UB there).
        unsafe = self.write_config("[hosts]\n\"example.test\" = { secret = \"X\" }\u00a0\n", "unsafe.toml")
        refused = ctl("git-credential", "--config", str(unsafe), "get", input=b"protocol=https\nhost=example.test\n\n",
                      env=env)
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn(b"not accepted TOML", refused.stderr)
        no_host = ctl("git-credential", "--config", str(config), "get", input=b"protocol=https\n\n", env=env)
        self.assertEqual((no_host.returncode, no_host.stdout), (0, b""))
        empty_host = ctl("git-credential", "--config", str(config), "get", input=b"protocol=https\nhost=\n\n", env=env)
        self.assertEqual((empty_host.returncode, empty_host.stdout), (0, b""))
        self.assertEqual(ctl("git-credential").returncode, 2)


if __name__ == "__main__":
    unittest.main()
