#!/usr/bin/env python3
"""Fails when an op name or an error code of the wire protocol is spelled as a string literal in broker/.

The names live once, in protocol/ops.hpp (op::k*) and protocol/codes.hpp (code::k*); the daemon and the CLI
spell them from there, so renaming one cannot leave a copy behind. A literal that only looks like a wire name
(a word of another protocol, such as git's credential action "get") carries the comment
`lint: not a wire name` on its line.
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
ALLOW = "lint: not a wire name"
# Words that are wire names too, where they mean something else: (file, name) -> why.
ELSEWHERE = {
    ("broker/daemon/config.cpp", "info"): "a log level",
    ("broker/daemon/config.hpp", "info"): "a log level",
    ("broker/daemon/config.cpp", "locked"): "--help text quoting the code",
    ("broker/core/lock_state.cpp", "locked"): "a member of state_dir/locked.json",
}


def names(header, namespace):
    text = (ROOT / header).read_text()
    block = re.search(r"namespace " + namespace + r" \{(.*?)\}  // namespace " + namespace, text, re.S)
    return set(re.findall(r'inline constexpr std::string_view k\w+ = "([^"]+)";', block.group(1)))


def main():
    wire = names("protocol/ops.hpp", "op") | names("protocol/codes.hpp", "code")
    literal = re.compile(r'"(' + "|".join(re.escape(n) for n in sorted(wire)) + r')"')
    problems = []
    for path in sorted((ROOT / "broker").rglob("*.[ch]pp")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if ALLOW in line or line.lstrip().startswith("//"):
                continue
            for match in literal.finditer(line):
                if (str(path.relative_to(ROOT)), match.group(1)) in ELSEWHERE:
                    continue
                problems.append(f"{path.relative_to(ROOT)}:{number}: wire name \"{match.group(1)}\" spelled as a "
                                "literal; use protocol::op / protocol::code")
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
