#!/usr/bin/env bash
# Style gate: clang-format must agree with every C++ file (`dev/lint.sh --fix` rewrites them), and no op
# name or error code is spelled as a literal outside protocol/ (dev/check_wire_names.py), and no function
# in broker/ or protocol/ is over 60 lines (dev/function_lengths.py), and no include runs up the layers
# (dev/check_layers.py).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang-format >/dev/null; }
mapfile -t files < <(git ls-files '*.cpp' '*.hpp')
if [[ ${1:-} == --fix ]]; then
  clang-format -i "${files[@]}"
else
  clang-format --dry-run --Werror "${files[@]}"
  echo "lint: ${#files[@]} files formatted"
  python3 dev/check_wire_names.py
  echo "lint: wire names only in protocol/"
  python3 dev/function_lengths.py
  echo "lint: no function over 60 lines"
  python3 dev/check_layers.py
  echo "lint: includes run down the layers"
fi
