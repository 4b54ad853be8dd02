"""Short form of tests/crash/crash.py for every CI run: 60 rounds of SIGKILL at random instants during
pushes, registrations and one-shot operations, with a fresh seed each run (printed, so a failure can be
replayed with `tests/crash/crash.py --seed N`). The long form is `dev/crash.sh` (hundreds of rounds)."""

import os
import pathlib
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import BROKER  # noqa: E402

BUILD = pathlib.Path(BROKER).resolve().parents[1]
CRASH = pathlib.Path(__file__).resolve().parents[1] / "crash" / "crash.py"


class CrashSmoke(unittest.TestCase):
    def test_sigkill_at_random_instants(self):
        out = subprocess.run([sys.executable, str(CRASH), "--build", str(BUILD), "--rounds", "60"],
                             capture_output=True, text=True, timeout=600)
        sys.stderr.write(out.stdout + out.stderr)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertIn("crash: OK", out.stdout)


if __name__ == "__main__":
    unittest.main()
