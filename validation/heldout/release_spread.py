#!/usr/bin/env python3
"""How far apart NVIDIA's releases measure the same training run, and what that costs a model
that does not know the software release.

Groups the train_step points of the given moesim-validation/1 files by everything moesim reads
from a point (GPU, GPU count, model, TP/PP/CP/VP/EP/ETP, micro-batch, global batch, sequence,
and the compute dtype moesim runs: FP8 for every FP8 recipe, BF16 otherwise). Points of one group
get one prediction from moesim, so no prediction can do better on them than the constant c
minimising sum |c - v| / v over the group's measurements v: that floor is printed per group and
as a MAPE over every point in a group of two or more.

Usage: python3 validation/heldout/release_spread.py FILE.json [FILE.json ...]
"""
import json
import sys


def key_of(p):
    q = p["params"]
    dtype = "fp8" if "FP8" in str(q.get("precision", "")).upper() else "bf16"
    return (p["cluster"]["gpu"], q["gpus"], q["model"], q.get("tp") or 1, q.get("pp") or 1, q.get("cp") or 1,
            q.get("vp") or 1, q.get("ep") or 1, q.get("etp") or 1, q.get("micro_batch"), q.get("global_batch"),
            q.get("seq_len"), dtype, p["metric"]["name"])


def best_constant(values):
    # sum |c - v| / v is piecewise linear in c with kinks at the values: the minimum is at one.
    cost = lambda c: sum(abs(c - v) / v for v in values)
    c = min(values, key=cost)
    return c, cost(c)


def main():
    groups = {}
    for path in sys.argv[1:]:
        for p in json.load(open(path))["points"]:
            if p["family"] == "train_step" and p.get("confidence") in ("high", "medium"):
                groups.setdefault(key_of(p), []).append((p["id"], p["metric"]["value"]))
    total_points, total_error = 0, 0.0
    print("| run (GPU, GPUs, model, TP PP CP VP EP, MBS GBS, dtype) | releases: measured | max/min | floor MAPE |")
    print("| --- | --- | --- | --- |")
    for key, members in sorted(groups.items(), key=lambda kv: str(kv[0])):
        if len(members) < 2:
            continue
        values = [v for _, v in members]
        _, error = best_constant(values)
        total_points += len(values)
        total_error += error
        gpu, gpus, model, tp, pp, cp, vp, ep, etp, mbs, gbs, seq, dtype, _ = key
        runs = ", ".join(f"{i.split('-')[2]}: {v:g}" for i, v in members)
        print(f"| {gpu} x{gpus} {model} TP{tp} PP{pp} CP{cp} VP{vp} EP{ep} mbs{mbs} gbs{gbs} {dtype} | {runs} | "
              f"{max(values) / min(values):.2f} | {100 * error / len(values):.1f} % |")
    if total_points:
        print(f"\n{total_points} points in groups of 2 or more: no release-blind prediction has a MAPE below "
              f"{100 * total_error / total_points:.1f} % on them")


if __name__ == "__main__":
    main()
