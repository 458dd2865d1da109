#!/usr/bin/env bash
# Quick start, part 2: build and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/build.sh
ctest --test-dir build --output-on-failure -j "$(nproc)"
