#!/usr/bin/env bash
# Installs the Debian 12 packages moesim builds with, when any is missing.
# Sourced by .ci/setup.sh and .ci/test.sh; MOESIM_EXTRA_PACKAGES adds more (tests/fuzz/run.sh:
# clang and libFuzzer).
set -euo pipefail

MOESIM_PACKAGES=(build-essential cmake ninja-build pkg-config
                 libsimgrid-dev libboost-graph-dev nlohmann-json3-dev libbenchmark-dev catch2
                 libopenblas-dev libopenmpi-dev openmpi-bin chromium
                 ${MOESIM_EXTRA_PACKAGES:-})

missing=()
for pkg in "${MOESIM_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "moesim: installing missing Debian packages: ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
