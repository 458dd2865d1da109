#!/usr/bin/env python3
"""Writes cudnn_sdpa_training.json: NVIDIA's own cuDNN fused-attention (SDPA) training benchmark,
as moesim-validation/1 points of op "attention".

Usage: make_cudnn_sdpa.py CUDNN_FRONTEND_CHECKOUT [OUT]
  CUDNN_FRONTEND_CHECKOUT  a clone of https://github.com/NVIDIA/cudnn-frontend (git directory or
                           work tree); its results are read at HEAD
  OUT                      default validation/calibration/cudnn_sdpa_training.json

The source is benchmark/sdpa_benchmark_training/results/*/*.csv (cuDNN frontend 1.19-1.21,
cuDNN 9.19 on H200 and 9.22 on GB200/GB300; median of 5 timed iterations). Kept: cuDNN's own
backend, BF16, FP8 (per-tensor scales) and MXFP8, the non-deterministic backward (what training
runs use), runs that succeeded.
Each CSV row's time is the metric's own time (time_us exact up to the CSV's 1 us rounding); its
TFLOP/s use the benchmark's FLOP count: masked-in (query, key) pairs x 2 x (head_dim_qk +
head_dim_vo) forward, x 2 x (3 head_dim_qk + 2 head_dim_vo) backward (benchmark_single_sdpa.py).
"""
import csv, io, json, os, subprocess, sys

src = sys.argv[1]
out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "cudnn_sdpa_training.json")
RESULTS = "benchmark/sdpa_benchmark_training/results"
# The benchmark's data types as moesim's attention dtypes: BF16, FP8 with per-tensor scales, MXFP8.
DTYPES = {"bfloat16": "bf16", "fp8": "fp8", "mxfp8": "mxfp8"}


def git(*args):
    return subprocess.run(["git", "-C", src, *args], check=True, capture_output=True, text=True).stdout


commit = git("rev-parse", "HEAD").strip()
files = sorted(f for f in git("ls-tree", "-r", "--name-only", "HEAD", RESULTS).split() if f.endswith(".csv"))


def passes(row):
    """(pass, time_ms, tflops) of a row: one pass per row, or both in one (the H200 files)."""
    if "profile_pass" in row and row["profile_pass"] in ("fwd", "bwd"):
        return [(row["profile_pass"], float(row["time_ms"]), float(row["tflops"]))]
    return [("fwd", float(row["fwd_time_ms"]), float(row["fwd_tflops"])),
            ("bwd", float(row["bwd_time_ms"]), float(row["bwd_tflops"]))]


points = []
for path in files:
    for row in csv.DictReader(io.StringIO(git("show", f"HEAD:{path}"))):
        if row["backend"] != "cudnn" or row["data_type"] not in DTYPES or row["success"] != "True":
            continue
        if row["deterministic_bwd"] != "False":
            continue
        gpu = row["gpu_name"].replace("NVIDIA ", "")
        window = int(row["sliding_window_size"]) if row["sliding_window_size"] else 0
        mask = "causal" if row["attn_mask"] == "top_left" else "none"
        for direction, time_ms, tflops in passes(row):
            if time_ms <= 0 or tflops <= 0:
                continue
            dtype = DTYPES[row["data_type"]]
            pid = (f"attn-cudnn-{gpu.lower()}-{row['model_name'].lower()}-{mask}"
                   f"{'-w' + str(window) if window else ''}-b{row['batch_size']}-s{row['q_seqlen']}-{direction}"
                   f"{'' if dtype == 'bf16' else '-' + dtype}")
            points.append({
                "id": pid,
                "family": "attention",
                "source": f"https://github.com/NVIDIA/cudnn-frontend {path} @ {commit[:8]}",
                "kind": "measured",
                "confidence": "high",
                "cluster": {"gpu": gpu, "nodes": 1, "gpus_per_node": 1,
                            "intra_node": {"kind": None, "GBps_per_gpu": None}, "nic": {"kind": None, "GBps_per_gpu": None}},
                "op": "attention",
                "params": {
                    "implementation": "cudnn", "cudnn_version": row["cudnn_backend_version"].split(".")[0],
                    "dtype": dtype, "direction": direction, "mask": mask, "sliding_window": window,
                    "batch": int(row["batch_size"]), "q_seqlen": int(row["q_seqlen"]), "kv_seqlen": int(row["kv_seqlen"]),
                    "q_heads": int(row["num_q_heads"]), "kv_heads": int(row["num_kv_heads"]),
                    "head_dim_qk": int(row["head_dim_qk"]), "head_dim_vo": int(row["head_dim_vo"]),
                    "model_shape": row["model_name"],
                },
                "metric": {"name": "tflops", "value": tflops, "unit": "TFLOPS",
                           "definition": "masked-in (query, key) pairs x 2 x (dqk + dvo) forward, x 2 x (3 dqk + 2 dvo) "
                                         "backward, per head and sequence / median kernel time"},
                "time_us": round(time_ms * 1000, 3),
                "notes": "cuDNN frontend SDPA training benchmark; time rounded to 1 us in the source CSV",
            })

json.dump({"schema": "moesim-validation/1",
           "description": "NVIDIA cuDNN fused attention (SDPA) training benchmark, BF16, FP8 and MXFP8, "
                          "H200/GB200/GB300: the data GpuSpec::attention_*_efficiency and the attention tile "
                          "overhead are fitted on "
                          "(validation/calibration/fit_attention.py; head dim 128, 2k-16k tokens) and checked on "
                          "(every other shape). Written by validation/calibration/make_cudnn_sdpa.py.",
           "points": points}, open(out, "w"), indent=1)
print(f"{len(points)} points from {len(files)} files at {commit[:8]} -> {out}")
