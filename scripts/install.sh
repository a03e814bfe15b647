#!/usr/bin/env bash
# Installs everything fptq needs to build and test on Debian bookworm:
# compiler, CMake/Ninja, the Debian libraries it links, and the Python packages
# the tests use as independent references. Idempotent; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

PKGS=(g++ cmake ninja-build pkg-config git
      libgtest-dev libgmock-dev libbenchmark-dev
      nlohmann-json3-dev libcli11-dev libfmt-dev libpcre2-dev
      python3 python3-pip
      time  # /usr/bin/time -v: peak RSS in bench/stream_7b.sh
      clang libclang-rt-14-dev)  # libFuzzer + sanitizer runtimes (scripts/fuzz.sh)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install: apt packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Python references for tests (independent safetensors writer, GGUF reader).
if ! python3 -m pip install --quiet --disable-pip-version-check -r scripts/requirements-test.txt 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check --break-system-packages \
    -r scripts/requirements-test.txt
fi
echo "install: done"
