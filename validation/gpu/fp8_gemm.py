#!/usr/bin/env python3
"""FP8 and BF16 GEMM rates on this GPU, written as a moesim-validation/1 dataset.

moesim prices an FP8 GEMM at the datasheet's FP8 peak times the cluster's GEMM efficiency, in
output tiles that run in waves of the GPU's SMs. This times real cuBLAS GEMMs through PyTorch
(torch._scaled_mm: E4M3 inputs, per-tensor FP32 scales, BF16 output, no fast accumulation; and
torch.matmul in BF16 for the same shapes) so that `moesim validate` can say how far that is
from the GPU in hand:

  python3 validation/gpu/fp8_gemm.py OUT_DIR
  build/moesim validate OUT_DIR/gemm.validation.json

Shapes: the square and skinny shapes of the published H100 FP8 table that
shared/validation/published.json transcribes, and the expert GEMMs of DeepSeek-V3 (d_model
7168, expert width 2048) and Qwen3-30B-A3B (2048, 768) at 256 to 16384 rows, forward (rows x
2*width x d_model for the gated input projection, rows x d_model x width for the output one).
Each time is the median of 5 CUDA-event timings of a CUDA graph of 20 back-to-back GEMMs
(after 5 of warm-up), so that small GEMMs time the GPU and not Python's launches; the script
also records the same GEMMs launched one by one from Python (host-bound below ~10 us each).
Writes OUT_DIR/gemm.validation.json (the points) and OUT_DIR/gemm_raw.json (every timing).
"""
import json
import os
import statistics
import sys

import torch

SQUARE = [1024, 2048, 4096, 8192, 16384]
EXPERT_SHAPES = {  # name: (d_model, expert width)
    "deepseek-v3": (7168, 2048),
    "qwen3-30b-a3b": (2048, 768),
}
ROWS = [256, 1024, 4096, 16384]


def shapes():
    out = [(m, m, m, "square") for m in SQUARE]
    out.append((802816, 192, 768, "skinny"))
    for name, (d, w) in EXPERT_SHAPES.items():
        for m in ROWS:
            out.append((m, 2 * w, d, name + " input projection"))
            out.append((m, d, w, name + " output projection"))
    return out


def time_ms(fn, reps=20, samples=5):
    # The GEMMs are captured in a CUDA graph and replayed: launched one by one from Python
    # (~25 us each here), a small GEMM would time the host, not the GPU.
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(5):
            fn()
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        for _ in range(reps):
            fn()
    graph.replay()
    torch.cuda.synchronize()
    times = []
    for _ in range(samples):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        graph.replay()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end) / reps)
    return statistics.median(times)


def eager_ms(fn, reps=20):
    for _ in range(5):
        fn()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(reps):
        fn()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / reps


def measure(m, n, k):
    a = torch.randn(m, k, device="cuda", dtype=torch.bfloat16)
    w = torch.randn(n, k, device="cuda", dtype=torch.bfloat16)
    a8, w8 = a.to(torch.float8_e4m3fn), w.to(torch.float8_e4m3fn)
    one = torch.ones((), device="cuda", dtype=torch.float32)
    bf16 = lambda: a @ w.t()
    fp8 = lambda: torch._scaled_mm(a8, w8.t(), scale_a=one, scale_b=one, out_dtype=torch.bfloat16)
    out = (time_ms(bf16), time_ms(fp8), eager_ms(bf16), eager_ms(fp8))
    del a, w, a8, w8
    torch.cuda.empty_cache()
    return out


def point(gpu, m, n, k, dtype, ms, label):
    tflops = 2.0 * m * n * k / (ms * 1e-3) / 1e12
    return {
        "id": "own-%s-%s-m%d-n%d-k%d" % (gpu.lower(), dtype, m, n, k),
        "family": "own_gpu_gemm",
        "source": "validation/gpu/fp8_gemm.py on the lent %s node (moesim's own measurement)" % gpu,
        "kind": "measured",
        "confidence": "high",
        "cluster": {"gpu": gpu, "nodes": 1, "gpus_per_node": 1,
                    "intra_node": {"kind": "none", "GBps_per_gpu": None}, "nic": {"kind": None, "GBps_per_gpu": None}},
        "op": "gemm",
        "params": {"m": m, "n": n, "k": k, "dtype": dtype, "shape": label,
                   "library": "cuBLAS through torch %s (%s)" % (torch.__version__,
                               "torch._scaled_mm, per-tensor scales, BF16 out" if dtype == "fp8" else "torch.matmul")},
        "metric": {"name": "tflops", "value": round(tflops, 1), "unit": "TFLOPS", "definition": "2mnk / time"},
        "time_us": round(ms * 1e3, 2),
    }


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "."
    os.makedirs(out_dir, exist_ok=True)
    name = torch.cuda.get_device_name()
    gpu = "H200" if "H200" in name else "H100" if "H100" in name else name.split()[-1]
    points, raw = [], []
    for m, n, k, label in shapes():
        bf16_ms, fp8_ms, bf16_eager_ms, fp8_eager_ms = measure(m, n, k)
        raw.append({"m": m, "n": n, "k": k, "shape": label, "bf16_ms": bf16_ms, "fp8_ms": fp8_ms,
                    "bf16_eager_ms": bf16_eager_ms, "fp8_eager_ms": fp8_eager_ms})
        points.append(point(gpu, m, n, k, "bf16", bf16_ms, label))
        points.append(point(gpu, m, n, k, "fp8", fp8_ms, label))
        print("%-32s m=%6d n=%5d k=%5d  bf16 %7.1f TFLOP/s  fp8 %7.1f TFLOP/s" %
              (label, m, n, k, points[-2]["metric"]["value"], points[-1]["metric"]["value"]), flush=True)
    dataset = {"schema": "moesim-validation/1",
               "description": "GEMM rates measured by validation/gpu/fp8_gemm.py on one %s" % name,
               "points": points}
    with open(os.path.join(out_dir, "gemm.validation.json"), "w") as f:
        json.dump(dataset, f, indent=1)
    with open(os.path.join(out_dir, "gemm_raw.json"), "w") as f:
        json.dump({"gpu": name, "torch": torch.__version__, "rows": raw}, f, indent=1)


if __name__ == "__main__":
    main()
