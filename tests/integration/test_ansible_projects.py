"""The Ansible role's project tasks converge a real broker on the inventory: register what is missing,
register again what differs (path, uids, gid), unregister `state: absent`, and change nothing on a second
run. Runs ansible-playbook with a local connection against a sandbox broker (the admin socket overridden)."""

import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import SOURCE_DIR, Broker, write_manifest

ROLE_DIR = SOURCE_DIR / "ansible" / "roles"
ADMIN_SCRIPT = ROLE_DIR / "remo_broker" / "files" / "remo-broker-admin"
PLAYBOOK = """
- name: Converge the projects only
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: The role's project tasks
      ansible.builtin.include_role:
        name: remo_broker
        tasks_from: projects
"""


@unittest.skipUnless(shutil.which("ansible-playbook"), "ansible-playbook is not installed")
class RoleConvergesProjectsTest(unittest.TestCase):
    def setUp(self):
        self.broker = Broker().start()
        self.addCleanup(self.broker.cleanup)
        self.work = tempfile.mkdtemp(prefix="remo-ansible-")
        self.addCleanup(shutil.rmtree, self.work, True)
        self.playbook = os.path.join(self.work, "projects.yml")
        with open(self.playbook, "w") as f:
            f.write(PLAYBOOK)
        for name in ("demo", "other"):
            write_manifest(self.broker.sandbox / "projects" / name, name, ["TOKEN"])

    def path(self, name):
        return str(self.broker.sandbox / "projects" / name)

    def run_role(self, projects):
        variables = {"remo_broker_projects": projects, "remo_broker_admin_command": str(ADMIN_SCRIPT),
                     "remo_broker_admin_socket": str(self.broker.admin_socket)}
        env = dict(os.environ, ANSIBLE_ROLES_PATH=str(ROLE_DIR), ANSIBLE_NOCOLOR="1",
                   ANSIBLE_LOCALHOST_WARNING="False", ANSIBLE_INVENTORY_UNPARSED_WARNING="False")
        done = subprocess.run(["ansible-playbook", "-i", "localhost,", self.playbook,
                               "-e", json.dumps(variables)], capture_output=True, text=True, env=env, timeout=300)
        self.assertEqual(done.returncode, 0, done.stdout[-3000:] + done.stderr[-2000:])
        recap = re.search(r"^localhost\s+:\s+(.*)$", done.stdout, re.M).group(1)
        return int(re.search(r"changed=(\d+)", recap).group(1))

    def registrations(self):
        return {p["name"]: (p["project_path"], p["uids"], p["gid"])
                for p in self.broker.admin({"op": "status"})["projects"]}

    def test_register_reregister_remove_and_second_runs_change_nothing(self):
        demo = {"name": "demo", "path": self.path("demo"), "uids": [1000]}
        other = {"name": "other", "path": self.path("other") + "/", "gid": 1000}
        self.assertEqual(self.run_role([demo, other]), 1)
        self.assertEqual(self.registrations(), {"demo": (self.path("demo"), [1000], None),
                                                "other": (self.path("other"), [], 1000)})
        self.assertEqual(self.run_role([demo, other]), 0, "a second run changes nothing")

        demo["uids"] = [1001, 1000]
        self.assertEqual(self.run_role([demo, other]), 1)
        self.assertEqual(self.registrations()["demo"], (self.path("demo"), [1001, 1000], None))
        self.assertEqual(self.run_role([demo, other]), 0)

        other["gid"] = 1002
        self.assertEqual(self.run_role([demo, other]), 1)
        self.assertEqual(self.registrations()["other"], (self.path("other"), [], 1002))

        gone = {"name": "demo", "state": "absent"}
        self.assertEqual(self.run_role([gone, other]), 1)
        self.assertNotIn("demo", self.registrations())
        self.assertEqual(self.run_role([gone, other]), 0)


if __name__ == "__main__":
    unittest.main()
