#!/usr/bin/env bash
# Quick start, part 2: build and run the whole test suite. Under CI (CI=true) the suite's
# fast subset then runs again built with AddressSanitizer and UndefinedBehaviorSanitizer
# (CMakePresets.json "asan"; locally: cmake --preset asan && cmake --build --preset asan &&
# ctest --preset asan).
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/build.sh
ctest --test-dir build --output-on-failure -j "$(nproc)"
if [ "${CI:-}" = "true" ]; then
  cmake --preset asan >/dev/null
  cmake --build --preset asan -j "$(nproc)"
  ctest --preset asan-fast -j "$(nproc)"
fi
