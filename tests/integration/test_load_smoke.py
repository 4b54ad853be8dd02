"""Short form of tests/load/load.py for every CI run: 200 mixed connections, 2,000 hostile ones beside a
measured well-behaved client, and a 15 s soak that watches RSS. The long form (1,000 and 10,000
connections, soak for hours) is `dev/load.sh`."""

import os
import pathlib
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import BROKER  # noqa: E402

BUILD = pathlib.Path(BROKER).resolve().parents[1]
LOAD = pathlib.Path(__file__).resolve().parents[1] / "load" / "load.py"


class LoadSmoke(unittest.TestCase):
    def test_mixed_hostile_and_soak(self):
        if not (BUILD / "dev" / "bench" / "ndjson_load").exists():
            self.skipTest("dev/bench/ndjson_load is not built (REMO_BUILD_BENCHMARKS=OFF)")
        out = subprocess.run([sys.executable, str(LOAD), "--build", str(BUILD), "--connections", "200",
                              "--hostile", "2000", "--seconds", "3", "--requests", "5000", "--soak", "15"],
                             capture_output=True, text=True, timeout=300)
        sys.stderr.write(out.stdout + out.stderr)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertIn("load: OK", out.stdout)


if __name__ == "__main__":
    unittest.main()
