#!/usr/bin/env bash
# GPU calibration check, one script: on a machine with an NVIDIA GPU, CUDA (nvcc, cuBLAS) and
# CMake, build moesim-bench's CUDA backend, time the kernels (cuBLAS BF16 GEMMs at expert
# shapes, expert GEMMs under moesim's skewed routing, permutation, device copies), fit a
# profile on every other GEMM and copy shape, and predict the rest. The table printed last is
# the prediction error per kernel kind. Finishes in a few minutes on one H100.
#
#   validation/gpu/run.sh [OUT_DIR]         (default build-gpu/results)
#
# Google Benchmark and nlohmann/json come from the system, or from validation/gpu/deps/
# (validation/gpu/bundle-deps.sh) on a node without a package registry. Where there is no
# nvcc, the script says so and exits with 3.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/build-gpu/results}
mkdir -p "$out"

if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then export PATH=/usr/local/cuda/bin:$PATH; fi
if ! command -v nvcc >/dev/null; then
  echo "validation/gpu/run.sh: no nvcc on this machine: the CUDA backend cannot be built; skipped"
  exit 3
fi

cmake_args=(-S "$root" -B "$root/build-gpu" -DMOESIM_SIMULATOR=OFF -DCMAKE_BUILD_TYPE=Release
            -DCMAKE_CUDA_ARCHITECTURES="${MOESIM_CUDA_ARCHITECTURES:-90}")
command -v ninja >/dev/null && cmake_args+=(-G Ninja)
deps=$root/validation/gpu/deps/usr
[ -d "$deps" ] && cmake_args+=(-DCMAKE_PREFIX_PATH="$deps;$deps/lib/x86_64-linux-gnu/cmake;$deps/share/cmake")

{
  echo "== $(date -u +%FT%TZ) on $(hostname)"
  nvcc --version | tail -1
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,power.limit --format=csv || true
} | tee "$out/machine.txt"

cmake "${cmake_args[@]}" >"$out/build.log" 2>&1 || { tail -50 "$out/build.log"; exit 1; }
cmake --build "$root/build-gpu" -j "$(nproc)" >>"$out/build.log" 2>&1 || { tail -50 "$out/build.log"; exit 1; }

timeout "${MOESIM_GPU_BENCH_TIMEOUT_S:-360}" "$root/build-gpu/moesim-bench" --backend cuda ${MOESIM_GPU_QUICK:+--quick} --benchmark_repetitions=${MOESIM_GPU_REPETITIONS:-1} \
  --benchmark_out="$out/bench.json" --benchmark_out_format=json >"$out/bench.txt" 2>&1 || { tail -30 "$out/bench.txt"; exit 1; }
tail -n +1 "$out/bench.txt" | grep -E "^cuda/(gemm/m=(1|128|8192)/|copy|permute|expert)" | cut -c1-150 || true

nvidia-smi --query-gpu=clocks.sm,clocks.mem,temperature.gpu,power.draw --format=csv | tee -a "$out/machine.txt" || true
"$root/build-gpu/moesim-calibrate" --bench "$out/bench.json" --hold-out 2 -o "$out/profile.json" \
  --checks "$out/checks.csv" >/dev/null
echo
echo "expert GEMMs under skewed routing (held out of the fit): measured vs predicted"
grep -E "^name|expert_gemms" "$out/checks.csv" 2>/dev/null || true
echo
"$root/build-gpu/moesim-calibrate" --bench "$out/bench.json" --hold-out 2 -o "$out/profile.json" --checks "$out/checks.csv" \
  | tee "$out/calibrate.txt"

# How much of an eager PyTorch MoE layer's time the GPU spends waiting for the host (PyTorch
# present only; ~20 s): validation/gpu/host_overhead.py.
if python3 -c "import torch; assert torch.cuda.is_available()" 2>/dev/null; then
  echo
  timeout 240 python3 "$root/validation/gpu/host_overhead.py" "$out" >"$out/host_overhead.txt" 2>&1 || tail -20 "$out/host_overhead.txt"
  python3 -c "import json,sys; r=json.load(open(sys.argv[1])); [print('eager MoE layer, %5d tokens: %7.2f ms wall, %7.2f ms GPU busy, %3d kernels, GPU idle %4.1f %%' % (x['tokens'], x['wall_ms'], x['gpu_busy_ms'], x['kernels_per_iteration'], 100 * x['gpu_idle_share'])) for x in r['rows']]" "$out/host_overhead.json" || true
  # The host's time per kernel when it alone sets the pace (~20 s): validation/gpu/host_bound.py;
  # cluster.host_us_per_kernel is its wall time per layer over moesim's kernel count (RESULTS.md).
  timeout 180 python3 "$root/validation/gpu/host_bound.py" "$out" >"$out/host_bound.txt" 2>&1 || tail -20 "$out/host_bound.txt"
  python3 -c "import json,sys; r=json.load(open(sys.argv[1])); [print('host-bound eager MoE layer, %2d experts, %3d tokens: %6.2f ms wall, %3d kernels' % (x['experts'], x['tokens'], x['wall_ms'], x['kernels_per_iteration'])) for x in r['rows']]" "$out/host_bound.json" || true
  # BF16 and FP8 cuBLAS GEMMs as a moesim-validation/1 dataset (~15 s): validation/gpu/fp8_gemm.py;
  # `moesim validate $out/gemm.validation.json` on a machine with the simulator compares them.
  echo
  timeout 120 python3 "$root/validation/gpu/fp8_gemm.py" "$out" >"$out/fp8_gemm.txt" 2>&1 || tail -20 "$out/fp8_gemm.txt"
  tail -n 22 "$out/fp8_gemm.txt" | cut -c1-100
fi
