#!/usr/bin/env python3
"""Fits fused attention's long-sequence efficiencies per GPU (GpuSpec::attention_forward_efficiency,
attention_backward_efficiency in hardware/gpu_presets.cpp) and the fixed time per query tile
(ATTENTION_TILE_OVERHEAD_BLOCKS in models/cost_model.hpp) on NVIDIA's cuDNN SDPA benchmark.

Usage: fit_attention.py [DATASET]   (default validation/calibration/cudnn_sdpa_training.json)

The model (models/cost_model.cpp): a tile of 128 queries computes b blocks of 128 keys and
spends c blocks' time besides, so the kernel runs at e x b / (b + c) of the BF16 peak; b is
s / 128 without a mask and s / 256 under the causal one. Fitted on the Llama 3.1 shape (head
dim 128, GQA 64/8), both masks, 2k-16k tokens: for each c of a grid, e per GPU and direction
is the geometric mean that makes the fit unbiased in log space; the c with the least rms over
all GPUs and directions wins. Then, at those, the backward rate of MLA's 192-wide keys
(128-wide values) relative to head dim 128 (ATTENTION_BACKWARD_RATE_AT_192 in
models/cost_model.cpp): the geometric mean of measured / predicted over the DeepSeek-V3 and Kimi
K2 shapes' backward at 2k-16k tokens (their forward runs at the head dim 128 rate). Every other
shape of the file (32k tokens and more, the MLA forward, head dim 256, 64-wide heads in 128-key
windows, video models' odd lengths) is held out: `moesim validate` reports them.
"""
import json, math, os, sys

dataset = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "cudnn_sdpa_training.json")
PEAK_TFLOPS = {"H200": 989.4, "GB200": 2500.0, "GB300": 2500.0}  # hardware/gpu_presets.cpp, BF16 dense
FP8_PEAK_TFLOPS = {"H200": 1978.9, "GB200": 5000.0, "GB300": 5000.0}  # FP8 dense
BLOCK = 128


def llama_points(dtype):
    return [p for p in json.load(open(dataset))["points"]
            if p["params"]["model_shape"] == "llama3.1" and p["params"]["q_seqlen"] <= 16384
            and p["params"]["dtype"] == dtype]


points = llama_points("bf16")


def blocks(params):
    s = params["q_seqlen"]
    return s / (2 * BLOCK) if params["mask"] == "causal" else s / BLOCK


def efficiency(p):
    return p["metric"]["value"] / PEAK_TFLOPS[p["cluster"]["gpu"]]


groups = sorted({(p["cluster"]["gpu"], p["params"]["direction"]) for p in points})


def fit(c):
    fitted, squares = {}, []
    for g in groups:
        mine = [p for p in points if (p["cluster"]["gpu"], p["params"]["direction"]) == g]
        logs = [math.log(efficiency(p) * (blocks(p["params"]) + c) / blocks(p["params"])) for p in mine]
        e = math.exp(sum(logs) / len(logs))
        fitted[g] = e
        squares += [(math.log(e * blocks(p["params"]) / (blocks(p["params"]) + c)) - math.log(efficiency(p))) ** 2 for p in mine]
    return math.sqrt(sum(squares) / len(squares)), fitted


grid = [x / 2 for x in range(2, 21)]
rms, c = min((fit(c)[0], c) for c in grid)
fitted = fit(c)[1]
print(f"{len(points)} points; tile overhead {c} blocks, rms {100 * rms:.1f} % (grid {grid[0]}-{grid[-1]})")
for (gpu, direction), e in fitted.items():
    print(f"  {gpu:6s} {direction}: long-sequence efficiency {e:.3f}")


def mla_backward_rate(c, fitted):
    """measured / predicted (at the head dim 128 rate) over the 192/128 backward runs."""
    logs = []
    for p in json.load(open(dataset))["points"]:
        q = p["params"]
        if q["head_dim_qk"] != 192 or q["direction"] != "bwd" or q["q_seqlen"] > 16384 or q["dtype"] != "bf16":
            continue
        s, dqk, dvo = q["q_seqlen"], q["head_dim_qk"], q["head_dim_vo"]
        causal = q["mask"] == "causal"
        computed_keys = s / 2 if causal else s
        model_flops = 2 * s * computed_keys * (3 * dqk + 2 * dvo)  # moesim's backward, per head and sequence
        b = computed_keys / BLOCK
        rate = PEAK_TFLOPS[p["cluster"]["gpu"]] * 1e12 * fitted[(p["cluster"]["gpu"], "bwd")] * b / (b + c)
        bench_pairs = s * (s + 1) / 2 if causal else s * s
        predicted = 2 * bench_pairs * (3 * dqk + 2 * dvo) / (model_flops / rate) / 1e12
        logs.append(math.log(p["metric"]["value"] / predicted))
    return math.exp(sum(logs) / len(logs)), len(logs)


rate, n = mla_backward_rate(c, fitted)
print(f"  head dim 192 (MLA) backward: {rate:.3f} of the head dim 128 rate over {n} points")


def fp8_efficiencies(c, dtype):
    """FP8 attention (dtype fp8 or mxfp8) at the BF16 fit's tile overhead c: per GPU and
    direction, the long-sequence efficiency over the FP8 peak, fitted as the BF16 one is."""
    mine = llama_points(dtype)
    out = {}
    for g in sorted({(p["cluster"]["gpu"], p["params"]["direction"]) for p in mine}):
        group = [p for p in mine if (p["cluster"]["gpu"], p["params"]["direction"]) == g]
        logs = [math.log(p["metric"]["value"] / FP8_PEAK_TFLOPS[g[0]] * (blocks(p["params"]) + c) / blocks(p["params"]))
                for p in group]
        e = math.exp(sum(logs) / len(logs))
        rms = math.sqrt(sum((math.log(e * blocks(p["params"]) / (blocks(p["params"]) + c)) -
                             math.log(p["metric"]["value"] / FP8_PEAK_TFLOPS[g[0]])) ** 2 for p in group) / len(group))
        out[g] = (e, rms, len(group))
    return out


for dtype in ("fp8", "mxfp8"):
    for (gpu, direction), (e, rms_, n) in fp8_efficiencies(c, dtype).items():
        print(f"  {dtype:5s} {gpu:6s} {direction}: long-sequence efficiency {e:.3f} of the FP8 peak "
              f"({n} points, rms {100 * rms_:.1f} %)")


def fp8_head_dim_rates(c):
    """FP8 attention (fp8 and mxfp8 alike) at head dims other than 128, relative to its head dim
    128 rate: the geometric mean of measured / predicted (at the fitted efficiencies, head dim
    128's rate) over 2k-16k tokens. Head dim 64 backward: GPT-OSS's windowed shape, whose FP8
    backward computes the whole causal range (time grows with the square of the length); head
    dim 192 (MLA, 128-wide values) forward and backward: the DeepSeek-V3 and Kimi K2 shapes."""
    fitted = {dtype: fp8_efficiencies(c, dtype) for dtype in ("fp8", "mxfp8")}
    logs = {}
    for p in json.load(open(dataset))["points"]:
        q = p["params"]
        dtype, direction = q["dtype"], q["direction"]
        if dtype == "bf16" or q["q_seqlen"] > 16384 or q["mask"] != "causal":
            continue
        if q["head_dim_qk"] == 64 and not (direction == "bwd" and q["sliding_window"]):
            continue  # the windowed forward is all fixed time per tile: no head-dim rate in it
        if q["head_dim_qk"] not in (64, 192):
            continue
        gpu, s, dqk, dvo = p["cluster"]["gpu"], q["q_seqlen"], q["head_dim_qk"], q["head_dim_vo"]
        keys = s / 2  # the full causal range (the FP8 backward skips no windowed block)
        per_score = (3 * dqk + 2 * dvo) if direction == "bwd" else (dqk + dvo)
        b = keys / BLOCK
        rate = FP8_PEAK_TFLOPS[gpu] * 1e12 * fitted[dtype][(gpu, direction)][0] * b / (b + c)
        seconds = 2 * s * keys * per_score / rate
        w = q["sliding_window"]
        pairs = w * (w + 1) / 2 + (s - w) * w if w else s * (s + 1) / 2
        predicted = 2 * pairs * per_score / seconds / 1e12
        logs.setdefault((dqk, direction), []).append(math.log(p["metric"]["value"] / predicted))
    return {k: (math.exp(sum(v) / len(v)), len(v)) for k, v in sorted(logs.items())}


for (dqk, direction), (rate, n) in fp8_head_dim_rates(c).items():
    print(f"  fp8/mxfp8 head dim {dqk} {direction}: {rate:.3f} of the head dim 128 rate over {n} points")
