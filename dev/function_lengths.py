#!/usr/bin/env python3
"""Reports C++ functions longer than the project's limit (STYLE.md: a function over ~60 lines is two steps).

    dev/function_lengths.py [--max N] [PATH...]     (default: broker/ protocol/, relative to the repo root)

Scans every .cpp and .hpp file under the given paths (files or directories) and prints
`file:line: function NAME is N lines (max 60)` for each function whose body is longer than the limit; exits 1
if there is any. A function's length runs from the line of its name to the line of its closing brace; a
lambda or local class inside it is part of it.

The scanner matches braces rather than parsing C++: comments, string and character literals (raw strings
too) and preprocessor lines are blanked first, then a `{` at namespace or class scope opens a function when
the text before it since the last `;`, `{` or `}` has a parameter list and no `=` outside brackets (a
variable's initializer). A constructor's member initializers (`: a_{x}, b_(y)`) are skipped to its body.
"""
from __future__ import annotations

import argparse
import bisect
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MAX = 60
DEFAULT_PATHS = ("broker", "protocol")
SUFFIXES = (".cpp", ".hpp")
IDENTIFIER_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"


def blank_non_code(text: str) -> str:
    """The text with comments, literals' contents and preprocessor lines replaced by spaces (newlines kept),
    so that every brace, parenthesis and `;` left is code."""
    out = list(text)
    n = len(text)
    i = 0
    line_start = True  # only whitespace since the last newline

    def blank(start: int, end: int) -> None:
        for k in range(start, min(end, n)):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        c = text[i]
        if c == "\n":
            line_start = True
            i += 1
            continue
        if line_start and c == "#":
            end = i
            while end < n and text[end] != "\n":
                end += 2 if text[end] == "\\" and end + 1 < n else 1
            blank(i, end)
            i = end
            continue
        if not c.isspace():
            line_start = False
        if text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            blank(i, end)
            i = end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            blank(i, end)
            i = end
        elif c == '"':
            token = token_before(text, i)
            if token.endswith("R") and token in ("R", "u8R", "uR", "UR", "LR"):
                paren = text.find("(", i + 1)
                delimiter = text[i + 1 : paren]
                end = text.find(")" + delimiter + '"', paren + 1)
                end = n if end < 0 else end + len(delimiter) + 2
                blank(i + 1, end - 1)
            else:
                end = literal_end(text, i, '"')
                blank(i + 1, end - 1)
            i = end
        elif c == "'":
            token = token_before(text, i)
            if token and token[0].isdigit():  # a digit separator: 1'000'000
                i += 1
                continue
            end = literal_end(text, i, "'")
            blank(i + 1, end - 1)
            i = end
        else:
            i += 1
    return "".join(out)


def token_before(text: str, i: int) -> str:
    start = i
    while start > 0 and text[start - 1] in IDENTIFIER_CHARS:
        start -= 1
    return text[start:i]


def literal_end(text: str, i: int, quote: str) -> int:
    """The index just past the literal that opens at text[i]."""
    k = i + 1
    while k < len(text):
        if text[k] == "\\":
            k += 2
        elif text[k] == quote or text[k] == "\n":
            return k + 1
        else:
            k += 1
    return len(text)


def strip_template_prefix(head: str) -> str:
    """The declaration without its leading `template <...>` clauses."""
    while True:
        match = re.match(r"\s*template\s*<", head)
        if not match:
            return head
        depth = 0
        for k in range(match.end() - 1, len(head)):
            if head[k] == "<":
                depth += 1
            elif head[k] == ">":
                depth -= 1
                if depth == 0:
                    head = head[k + 1 :]
                    break
        else:
            return head


def top_level_groups(head: str):
    """(kind, start, end) of each outermost (), [] or {} group of head, in order."""
    groups = []
    depth = 0
    start = 0
    for k, c in enumerate(head):
        if c in "([{":
            if depth == 0:
                start = k
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                groups.append((c, start, k + 1))
    return groups


def outside_groups(head: str) -> str:
    """head with the contents of every bracket group (and template argument list) blanked."""
    out = list(head)
    for _, start, end in top_level_groups(head):
        for k in range(start + 1, end - 1):
            out[k] = " "
    return "".join(out)


OPERATOR = re.compile(r"(?:[A-Za-z_]\w*\s*::\s*)*operator\s*(\(\s*\)|[^\s(]+)\s*$")
NAME = re.compile(r"(~?[A-Za-z_]\w*(?:\s*<[^<>;{}()]*>)?(?:\s*::\s*~?[A-Za-z_]\w*)*)\s*$")


@dataclass
class Signature:
    name: str
    offset: int  # of the name, in head


def function_signature(head: str) -> Signature | None:
    """The function that head (the text between the previous `;`/`{`/`}` and a `{`) declares, if any."""
    body = strip_template_prefix(head)
    shift = len(head) - len(body)
    flat = outside_groups(body)
    if re.match(r"\s*(?:\[\[[^\]]*\]\]\s*)*(class|struct|union|enum|namespace|extern|inline\s+namespace)\b", flat):
        return None
    # A parameter list: the first () group not preceded by an operator's own ().
    for kind, start, end in top_level_groups(body):
        if kind != ")":
            continue
        before = body[:start]
        if re.search(r"operator\s*$", before):  # operator() itself: its parameters come next
            continue
        if "=" in re.sub(r"operator\s*\S+", "", outside_groups(before)):
            return None  # a variable's initializer
        match = OPERATOR.search(before) or NAME.search(before)
        if not match:
            return None
        name = re.sub(r"\s+", "", re.sub(r"operator\s+(?=\w)", "operator_", match.group(0).strip())).replace("operator_", "operator ")
        return Signature(name, shift + match.start())
    return None


def after_parameters(head: str) -> str:
    """What follows the parameter list in head (qualifiers, a trailing return type, member initializers)."""
    body = strip_template_prefix(head)
    for kind, start, end in top_level_groups(body):
        if kind == ")" and not re.search(r"operator\s*$", body[:start]):
            return body[end:]
    return ""


@dataclass
class Frame:
    kind: str  # namespace, class, function, other, init, nested
    name: str = ""
    line: int = 0


class Scanner:
    def __init__(self, path: Path, text: str, limit: int):
        self.path = path
        self.code = blank_non_code(text)
        self.limit = limit
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", self.code)]
        self.findings: list[tuple[int, str, int]] = []
        self.functions: list[tuple[int, str, int]] = []

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self.line_starts, offset)

    def scan(self) -> None:
        code = self.code
        stack: list[Frame] = [Frame("namespace")]
        head_start = 0
        parens = 0  # unclosed ( or [ at namespace or class scope
        function_depth = 0  # braces open inside the current function
        for i, c in enumerate(code):
            top = stack[-1]
            if top.kind == "function":
                if c == "{":
                    function_depth += 1
                elif c == "}":
                    function_depth -= 1
                    if function_depth == 0:
                        length = self.line_of(i) - top.line + 1
                        self.functions.append((top.line, top.name, length))
                        if length > self.limit:
                            self.findings.append((top.line, top.name, length))
                        stack.pop()
                        head_start, parens = i + 1, 0
                continue
            if top.kind in ("other", "init", "nested"):
                if c == "{":
                    stack.append(Frame("other"))
                elif c == "}":
                    stack.pop()
                    if top.kind == "other" and stack[-1].kind in ("namespace", "class"):
                        head_start, parens = i + 1, 0
                continue
            # namespace or class scope
            if c in "([":
                parens += 1
            elif c in ")]":
                parens = max(0, parens - 1)
            elif c == ";" and parens == 0:
                head_start = i + 1
            elif c == "}":
                if len(stack) > 1:
                    stack.pop()
                head_start, parens = i + 1, 0
            elif c == "{":
                if parens > 0:
                    stack.append(Frame("nested"))  # a default argument's {} or a lambda in a declaration
                    continue
                head = code[head_start:i]
                stack.append(self.classify(head, head_start))
                if stack[-1].kind == "function":
                    function_depth = 1
                elif stack[-1].kind != "init":
                    head_start = i + 1

    def classify(self, head: str, head_start: int) -> Frame:
        flat = outside_groups(strip_template_prefix(head))
        if re.match(r"\s*(inline\s+)?namespace\b", flat) or re.match(r"\s*extern\s*\"", flat):
            return Frame("namespace")
        signature = function_signature(head)
        if signature is None:
            if re.match(r"\s*(?:\[\[[^\]]*\]\]\s*)*(class|struct|union)\b", flat) and "=" not in flat:
                return Frame("class")
            return Frame("other")
        rest = after_parameters(head)
        # Member initializers: `: a_{x}` opens an initializer; the body's { follows a ) or a }.
        if re.match(r"[^{]*?(?<!:):(?!:)", rest) and not re.search(r"[)}]\s*$", rest):
            return Frame("init")
        return Frame("function", signature.name, self.line_of(head_start + signature.offset))


def source_files(paths: list[str]):
    for given in paths:
        path = Path(given)
        if path.is_file():
            yield path
        elif path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file())
        else:
            print(f"function_lengths.py: {given}: no such file or directory", file=sys.stderr)
            sys.exit(2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max", type=int, default=DEFAULT_MAX, help="longest allowed function, in lines")
    parser.add_argument("--all", action="store_true", help="list every function found, with its length")
    parser.add_argument("paths", nargs="*")
    args = parser.parse_args()
    paths = args.paths
    if not paths:  # the defaults are the repository's, named relative to its root
        os.chdir(Path(__file__).resolve().parent.parent)
        paths = list(DEFAULT_PATHS)
    over = 0
    for path in source_files(paths):
        scanner = Scanner(path, path.read_text(encoding="utf-8", errors="replace"), args.max)
        scanner.scan()
        path = os.path.relpath(path)
        if args.all:
            for line, name, length in scanner.functions:
                print(f"{path}:{line}: {name} {length}")
        for line, name, length in scanner.findings:
            print(f"{path}:{line}: function {name} is {length} lines (max {args.max})")
            over += 1
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
