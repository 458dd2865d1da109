#!/usr/bin/env python3
"""Writes megatron_bridge_overlap_ab_moe.json: NVIDIA's controlled A/B of the all-to-all overlap
on 16 H100 (Qwen3-30B-A3B, BF16, TP1 PP1 EP16, MBS 1, GBS 1024, 4096 tokens, force-balanced,
HybridEP, Transformer Engine graphs of moe_router and moe_preprocess), as Megatron-Bridge's
skills/nemo-mbridge-perf-moe-comm-overlap/SKILL.md records it ("HybridEP production-shape
validation", a 2026-07-25 run of the main branch): the step time with the overlap off and on,
the only setting changed. The rows state their run's settings (params.recipe): they are from no
release table. Held out of every fit moesim makes.

Usage: python3 validation/heldout/make_megatron_bridge_overlap_ab.py SHARED_PUBLISHED_JSON BRIDGE_CHECKOUT OUT_JSON
  BRIDGE_CHECKOUT  a clone of https://github.com/NVIDIA-NeMo/Megatron-Bridge (git directory or work tree)
"""
import copy
import json
import re
import subprocess
import sys

from bridge_points import cluster_of, set_throughput, write_dataset

COMMIT = "067f987d"
SKILL = "skills/nemo-mbridge-perf-moe-comm-overlap/SKILL.md"
TEMPLATE = "train-mbridge-2602-gb200-qwen3-30b-a3b-mxfp8"  # architecture and routing copied from it
GPUS, GBS, MBS, SEQ, EP = 16, 1024, 1, 4096, 16
# the skill's table rows: "| EP overlap off | iterations 5-20 | 24.7138s | 244.039 |"
CASES = {"EP overlap off": False, "EP overlap on, independent validation": True}


def step_rows(text):
    rows = {}
    for case in CASES:
        m = re.search(r"^\| " + re.escape(case) + r" \| [^|]+ \| ([0-9.]+)s \| ([0-9.]+) \|$", text, re.M)
        if not m:
            sys.exit(f"{SKILL} @ {COMMIT}: no table row '{case}'")
        rows[case] = (float(m.group(1)), float(m.group(2)))
    return rows


def point(template, case, overlap, step_s, tflops):
    p = copy.deepcopy(template)
    p["id"] = f"train-mbridge-skill-h100-qwen3-30b-a3b-bf16-ep16-overlap-{'on' if overlap else 'off'}"
    p["source"] = (f"https://github.com/NVIDIA-NeMo/Megatron-Bridge {SKILL} @ {COMMIT} "
                   f"(section 'HybridEP production-shape validation', row '{case}')")
    p["cluster"] = cluster_of("DGX-H100", GPUS)
    q = p["params"]
    q.update({"gpus": GPUS, "seq_len": SEQ, "global_batch": GBS, "micro_batch": MBS, "tp": 1, "pp": 1, "ep": EP,
              "etp": 1, "dp": GPUS, "cp": 1, "vp": None, "grad_accum": GBS // (GPUS * MBS), "precision": "BF16",
              "precision_detail": "BF16", "framework": "Megatron-Bridge / Megatron-Core (main, 2026-07-25)",
              "recipe": {"graphs": "parts", "cuda_graph_scope": ["moe_router", "moe_preprocess"],
                         "a2a_overlap": overlap, "dispatcher": "hybridep",
                         "source": f"{SKILL} @ {COMMIT}: HybridEP, TE graphs of moe_router and moe_preprocess, "
                                   f"EP overlap {'on' if overlap else 'off'}, delayed wgrad off"}})
    tokens = GBS * SEQ / (step_s * GPUS)
    set_throughput(p, GBS, SEQ, GPUS, round(tokens, 1), tflops,
                   f"Steady step time {step_s} s as published (tokens/s/GPU derived from it). Architecture and "
                   f"routing copied from {template['id']}.")
    return p


def main():
    shared, checkout, out = sys.argv[1], sys.argv[2], sys.argv[3]
    text = subprocess.run(["git", "-C", checkout, "show", f"{COMMIT}:{SKILL}"], check=True, capture_output=True,
                          text=True).stdout
    template = {p["id"]: p for p in json.load(open(shared))["points"]}[TEMPLATE]
    points = [point(template, case, CASES[case], *row) for case, row in step_rows(text).items()]
    description = ("NVIDIA's controlled A/B of Megatron-Core's all-to-all overlap (combined 1F1B) on 16 H100, "
                   "Qwen3-30B-A3B BF16 with HybridEP, from Megatron-Bridge's skills documentation: held out of "
                   "every fit moesim makes. Written by make_megatron_bridge_overlap_ab.py beside this file.")
    write_dataset(out, description, points)


if __name__ == "__main__":
    main()
