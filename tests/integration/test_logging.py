"""The daemon's log format: plain timestamped lines on a terminal or file, and syslog priority prefixes
(`<N>`) when stderr is the journal stream systemd announced in JOURNAL_STREAM (device:inode of stderr)."""

import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Broker  # noqa: E402


class JournalFormat(unittest.TestCase):
    def run_broker(self, journal_stream_of_stderr):
        broker = Broker()
        self.addCleanup(broker.cleanup)
        broker.stderr_path.touch()
        env = {}
        if journal_stream_of_stderr is not None:
            info = os.stat(broker.stderr_path)
            env["JOURNAL_STREAM"] = f"{info.st_dev}:{info.st_ino}" if journal_stream_of_stderr else "1:1"
        broker.env = env
        broker.start()
        self.assertEqual(broker.stop(), 0)
        lines = [line for line in broker.stderr().splitlines() if line.strip()]
        self.assertTrue(lines, "the daemon logs its start and stop")
        return lines

    def test_priority_prefixes_when_stderr_is_the_journal(self):
        for line in self.run_broker(True):
            self.assertRegex(line, r"^<[0-7]>", line)
        self.assertTrue(any(line.startswith("<6>") for line in self.run_broker(True)), "info lines are <6>")

    def test_no_prefixes_when_journal_stream_names_another_file(self):
        for line in self.run_broker(False):
            self.assertIsNone(re.match(r"^<[0-7]>", line), line)

    def test_no_prefixes_without_journal_stream(self):
        for line in self.run_broker(None):
            self.assertIsNone(re.match(r"^<[0-7]>", line), line)


if __name__ == "__main__":
    unittest.main()
