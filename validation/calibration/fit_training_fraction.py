#!/usr/bin/env python3
"""Fits each GPU's training_tensor_fraction (hardware/gpu_presets.cpp) on dense training runs.

Usage: fit_training_fraction.py [MOESIM] [DATASET]
  MOESIM   the moesim binary (default build/moesim)
  DATASET  moesim-validation/1 dense training steps
           (default validation/calibration/megatron_bridge_dense_llama.json)

For each GPU of the dataset's supported points (FSDP runs apart: see below), bisects the fraction at which the geometric
mean of predicted / measured tokens per second is 1, and prints it beside each point's error
at that fraction. `moesim validate` writes each point's scenario; the fit reruns them with
cluster.training_tensor_fraction set, so it fits exactly what moesim simulates.
"""
import json, math, os, subprocess, sys, tempfile

moesim = sys.argv[1] if len(sys.argv) > 1 else "build/moesim"
dataset = sys.argv[2] if len(sys.argv) > 2 else "validation/calibration/megatron_bridge_dense_llama.json"
out = tempfile.mkdtemp(prefix="moesim-fit-")
subprocess.run([moesim, "validate", dataset, "--out", out], check=True, stdout=subprocess.DEVNULL)
points = {p["id"]: p for p in json.load(open(dataset))["points"]}
# FSDP runs are checked, not fitted: their recipes carry what moesim does not model (the 70B
# runs offload 20-40 layers' activations to the CPU, the 8B runs on H100 recompute 5 layers).
rows = [r for r in json.load(open(os.path.join(out, "validation.json")))
        if r["supported"] and not points[r["id"]]["params"].get("fsdp")]


def step_s(point_id, fraction):
    scenario = json.load(open(os.path.join(out, "scenarios", point_id + ".json")))
    scenario["cluster"]["training_tensor_fraction"] = fraction
    path = os.path.join(out, "fit.json")
    json.dump(scenario, open(path, "w"))
    result = os.path.join(out, "result")
    subprocess.run([moesim, "run", path, "--out", result], check=True, stdout=subprocess.DEVNULL)
    return json.load(open(os.path.join(result, "result.json")))["step_time_s"]


def log_ratio(rows_of_gpu, fraction):
    # predicted / measured tokens per second = measured step time / predicted step time
    return sum(math.log(points[r["id"]]["time_us"] * 1e-6 / step_s(r["id"], fraction)) for r in rows_of_gpu) / len(rows_of_gpu)


for gpu in sorted({points[r["id"]]["cluster"]["gpu"] for r in rows}):
    mine = [r for r in rows if points[r["id"]]["cluster"]["gpu"] == gpu]
    lo, hi = 0.3, 1.0
    for _ in range(14):
        mid = (lo + hi) / 2
        if log_ratio(mine, mid) > 0: hi = mid  # still predicted too fast at mid: lower the fraction
        else: lo = mid
    fraction = round((lo + hi) / 2, 3)
    print(f"{gpu}: training_tensor_fraction {fraction} over {len(mine)} points")
    for r in mine:
        error = 100 * (points[r["id"]]["time_us"] * 1e-6 / step_s(r["id"], fraction) - 1)
        print(f"  {r['id']:55s} {error:+6.1f} %")
