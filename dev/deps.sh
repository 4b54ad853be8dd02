#!/usr/bin/env bash
# Installs the Debian 12 packages needed to build, test and demo remo-broker. Idempotent.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config git
  libsodium-dev libasio-dev nlohmann-json3-dev libtomlplusplus-dev libspdlog-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-14 libclang-rt-14-dev
  age openssh-client openssh-server socat netcat-openbsd
  python3 python3-jsonschema
  # deployment: the .deb (dpkg-shlibdeps), the e2e container, the role and its linter
  dpkg-dev debootstrap systemd-container ansible ansible-lint bc shellcheck
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "deps.sh: missing packages (${missing[*]}); run as root or install them" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
