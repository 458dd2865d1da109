#!/usr/bin/env python3
"""Writes megatron_bridge_2606_moe.json: the MoE pre-training rows of NVIDIA's Megatron-Bridge
"26.06 NeMo Container" table (docs/performance-summary-archive.md @ 067f987d) for the models
moesim has presets of. No point of shared/validation/published.json is from this release, and
no fit uses these rows. Each point copies the architecture and routing of a shared point of the
same model (named in its notes); the cluster is the row's system, sized as the shared points of
that system are (DGX: 8 GPUs a node; GB200/GB300 NVL72: 4 GPUs a compute tray).

Usage: python3 validation/heldout/make_megatron_bridge_2606.py SHARED_PUBLISHED_JSON OUT_JSON
"""
import copy
import json
import sys

from bridge_points import SYSTEM, cluster_of, set_throughput, write_dataset

SOURCE = ("https://github.com/NVIDIA-NeMo/Megatron-Bridge docs/performance-summary-archive.md "
          "@ 067f987d (section '26.06 NeMo Container')")
TEMPLATE = {  # model -> the shared point whose architecture and routing the rows copy
    "DeepSeekV3": "train-mbridge-2602-b300-deepseekv3-mxfp8",
    "GPT-OSS-120B": "train-mbridge-2602-b200-gpt-oss-120b-bf16",
    "Qwen3-30B-A3B": "train-mbridge-2602-gb200-qwen3-30b-a3b-mxfp8",
    "Qwen3-235B-A22B": "train-mbridge-2602-gb200-qwen3-235b-a22b-mxfp8",
}
# System, GPUs, precision, GBS, MBS, seq, TP, PP, CP, VP, EP, tokens/s/GPU, model TFLOP/s/GPU: as published.
ROWS = {
    "DeepSeekV3": [
        ("DGX-GB300", 256, "MXFP8", 4096, 1, 4096, 1, 2, 1, 8, 32, 6338, 1648),
        ("DGX-GB300", 256, "MXFP8", 15360, 1, 4096, 1, 2, 1, 8, 32, 6422, 1670),
        ("DGX-GB200", 256, "MXFP8", 4096, 1, 4096, 1, 4, 1, 4, 64, 4969, 1292),
        ("DGX-B300", 256, "MXFP8", 4096, 2, 4096, 1, 8, 1, None, 8, 3541, 920),
    ],
    "GPT-OSS-120B": [
        ("DGX-GB300", 64, "MXFP8", 1280, 4, 4096, 1, 1, 1, None, 16, 33166, 1081),
        ("DGX-GB200", 64, "MXFP8", 1280, 4, 4096, 1, 1, 1, None, 64, 28947, 943),
        ("DGX-B300", 64, "MXFP8", 1280, 4, 4096, 1, 1, 1, None, 8, 18534, 604),
    ],
    "Qwen3-30B-A3B": [
        ("DGX-GB300", 8, "MXFP8", 512, 8, 4096, 1, 1, 1, None, 8, 45275, 1041),
        ("DGX-GB200", 8, "MXFP8", 512, 4, 4096, 1, 1, 1, None, 8, 40706, 936),
        ("DGX-B300", 8, "MXFP8", 512, 8, 4096, 1, 1, 1, None, 8, 40769, 938),
        ("DGX-H100", 16, "FP8", 1024, 1, 4096, 1, 1, 1, None, 16, 8826, 203),
    ],
    "Qwen3-235B-A22B": [
        ("DGX-GB300", 256, "MXFP8", 8192, 2, 4096, 1, 4, 1, 12, 32, 9015, 1335),
        ("DGX-GB200", 256, "MXFP8", 8192, 1, 4096, 1, 8, 1, 3, 32, 7376, 1092),
    ],
}


def point(template, model, row):
    system, gpus, precision, gbs, mbs, seq, tp, pp, cp, vp, ep, tokens, tflops = row
    gpu = SYSTEM[system][0]
    dp = gpus // (tp * pp * cp)
    p = copy.deepcopy(template)
    slug = model.lower().replace("deepseekv3", "deepseekv3").replace("-", "")
    p["id"] = f"train-mbridge-2606-{gpu.lower()}-{slug}-{precision.lower()}-pp{pp}-ep{ep}-gbs{gbs}"
    p["source"] = SOURCE
    p["cluster"] = cluster_of(system, gpus)
    q = p["params"]
    q.update({"gpus": gpus, "seq_len": seq, "global_batch": gbs, "micro_batch": mbs, "tp": tp, "pp": pp,
              "ep": ep, "etp": None, "dp": dp, "cp": cp, "vp": vp, "grad_accum": gbs // (dp * mbs),
              "precision": precision, "precision_detail": precision,
              "framework": "Megatron-Bridge / Megatron-Core (NeMo 26.06)"})
    set_throughput(p, gbs, seq, gpus, tokens, tflops,
                   f"A row of the 26.06 table (no shared point is from this release); architecture and routing "
                   f"copied from {template['id']}.")
    return p


def main():
    shared, out = sys.argv[1], sys.argv[2]
    data = json.load(open(shared))
    by_id = {p["id"]: p for p in data["points"]}
    points = [point(by_id[TEMPLATE[m]], m, row) for m, rows in ROWS.items() for row in rows]
    description = ("MoE pre-training throughput of NVIDIA's Megatron-Bridge 26.06 table (MXFP8 and FP8 "
                   "recipes with the software of mid-2026) for the models moesim has presets of: held out of "
                   "every fit moesim makes. Written by make_megatron_bridge_2606.py beside this file.")
    write_dataset(out, description, points)


if __name__ == "__main__":
    main()
