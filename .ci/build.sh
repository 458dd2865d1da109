#!/usr/bin/env bash
# Configures and builds everything (moesim, tests, benchmarks) into build/.
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)"
