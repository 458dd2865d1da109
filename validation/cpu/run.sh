#!/usr/bin/env bash
# CPU end-to-end check: a real MoE layer on CPU ranks (MPI processes: moesim's routing,
# permutation, OpenBLAS expert GEMMs, all-to-all-v, combine) against moesim's prediction for
# the same layer, from a profile that moesim-bench and the MPI all-to-all sweep measured on
# this machine a minute earlier.
#
#   validation/cpu/run.sh [OUT_DIR]      (default build/cpu-validation; needs a built build/)
#
# MOESIM_BUILD_DIR names another build (one made with MOESIM_SIMULATOR=OFF has moesim-calibrate
# instead of moesim). One BLAS thread per rank, and the profile is measured with one thread too.
# The 4-rank layers run only on a machine of 4 cores or more (ranks sharing cores would time
# the scheduler); there the all-to-all is swept with 2 and with 4 ranks and fitted on both.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/build/cpu-validation}
bin=${MOESIM_BUILD_DIR:-$root/build}
mkdir -p "$out"
rm -f "$out/layers.jsonl"
export OPENBLAS_NUM_THREADS=1
[ "$(id -u)" -eq 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cores=$(nproc)
mpi() { local n=$1; shift; mpirun -np "$n" --oversubscribe --bind-to none "$@"; }

echo "== $(date -u +%FT%TZ) on $(hostname), $cores cores"
"$bin/moesim-bench" --backend cpu ${MOESIM_CPU_QUICK:+--quick} --benchmark_out="$out/bench.json" \
  --benchmark_out_format=json >"$out/bench.txt" 2>&1
rank_counts=(2)
[ "$cores" -ge 4 ] && rank_counts+=(4)
logs=()
for n in "${rank_counts[@]}"; do
  mpi "$n" "$bin/moesim-mpi-bench" alltoall --max-bytes 67108864 >"$out/alltoall_np$n.log"
  logs+=(--nccl-tests "alltoall=$out/alltoall_np$n.log")
done
calibrate=("$bin/moesim" calibrate)
[ -x "$bin/moesim" ] || calibrate=("$bin/moesim-calibrate")
"${calibrate[@]}" --bench "$out/bench.json" "${logs[@]}" -o "$out/profile.json" --checks "$out/checks.csv" >"$out/calibrate.txt"
head -4 "$out/calibrate.txt"

layer() {  # label ranks alpha capacity_factor|none
  local cf=()
  [ "$4" != none ] && cf=(--capacity-factor "$4")
  mpi "$2" "$bin/moesim-mpi-bench" layer --experts 8 --top-k 2 --tokens "${MOESIM_CPU_TOKENS:-2048}" --d-model 1024 \
    --d-ffn 1408 --alpha "$3" "${cf[@]}" --iterations 5 --profile "$out/profile.json" --label "$1" --json "$out/layers.jsonl"
}
echo
printf '%-34s %5s %8s  %13s  %13s  %9s\n' scenario ranks dropped measured predicted error
for n in "${rank_counts[@]}"; do
  layer "uniform, dropless" "$n" 1000 none
  layer "uniform, capacity 1.0" "$n" 1000 1.0
  layer "skewed (alpha 1), capacity 1.25" "$n" 1 1.25
  layer "skewed (alpha 0.3), capacity 1.0" "$n" 0.3 1.0
  layer "skewed (alpha 0.3), dropless" "$n" 0.3 none
done
[ "$cores" -ge 4 ] || echo "(4 ranks skipped: $cores cores; ranks sharing cores would time the scheduler, not the layer)"
echo
echo "wrote $out/layers.jsonl"
