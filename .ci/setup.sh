#!/usr/bin/env bash
# Quick start, part 1: install dependencies, build, and run moesim on the embedded default scenario.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/build.sh
./build/moesim run --out out/default
