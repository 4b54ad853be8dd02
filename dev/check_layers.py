#!/usr/bin/env python3
"""Fails when an include runs up the layers: each folder of broker/ (and protocol/) may include only itself
and the layers below it. The names headers protocol/codes.hpp and protocol/ops.hpp hold constants only and
may be included from any layer.

  common <- crypto <- core <- protocol <- transport <- lifecycle <- ops <- daemon
                              protocol <- cli
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
BELOW = {
    "common": set(),
    "crypto": {"common"},
    "core": {"common", "crypto"},
    "protocol": {"common", "crypto", "core"},
    "transport": {"common", "crypto", "core", "protocol"},
    "lifecycle": {"common", "crypto", "core", "protocol", "transport"},
    "ops": {"common", "crypto", "core", "protocol", "transport", "lifecycle"},
    "daemon": {"common", "crypto", "core", "protocol", "transport", "lifecycle", "ops"},
    "cli": {"common", "crypto", "core", "protocol"},
}
NAMES_ONLY = {"protocol/codes.hpp", "protocol/ops.hpp"}
INCLUDE = re.compile(r'#include "((?:broker/(\w+)|(protocol))/[^"]+)"')


def layer_of(path):
    parts = path.relative_to(ROOT).parts
    return parts[1] if parts[0] == "broker" else parts[0]


def main():
    problems = []
    files = list((ROOT / "broker").rglob("*.[ch]pp")) + list((ROOT / "protocol").glob("*.[ch]pp"))
    for path in sorted(files):
        layer = layer_of(path)
        for number, line in enumerate(path.read_text().splitlines(), 1):
            match = INCLUDE.match(line)
            if not match or match.group(1) in NAMES_ONLY:
                continue
            target = match.group(2) or match.group(3)
            if target != layer and target not in BELOW[layer]:
                problems.append(f"{path.relative_to(ROOT)}:{number}: {layer} includes {match.group(1)}, a layer above it")
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
