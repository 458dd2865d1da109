#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (AddressSanitizer and UndefinedBehaviorSanitizer
# on, every moesim library instrumented) into build-fuzz/ and runs one of them.
#   tests/fuzz/run.sh [TARGET] [RUNS]    default: scenario 1000000, at most MOESIM_FUZZ_SECONDS (600)
# The corpus grows in a scratch copy; crashes land in tests/fuzz/findings/ (keep the input
# under tests/fuzz/regressions/TARGET/ once fixed: the unit suite replays it).
set -euo pipefail
cd "$(dirname "$0")/../.."
MOESIM_EXTRA_PACKAGES="clang libclang-rt-14-dev" source .ci/deps.sh
target=${1:-scenario}
runs=${2:-1000000}
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMOESIM_FUZZ=ON >/dev/null
cmake --build build-fuzz -j "$(nproc)" --target "moesim_fuzz_${target}"
corpus=$(mktemp -d)
cp tests/fuzz/corpus/"${target}"/* tests/fuzz/regressions/"${target}"/* "$corpus"/ 2>/dev/null || true
mkdir -p tests/fuzz/findings
build-fuzz/moesim_fuzz_"${target}" -runs="$runs" -max_total_time="${MOESIM_FUZZ_SECONDS:-600}" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix=tests/fuzz/findings/ -print_final_stats=1 "$corpus"
