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

SOURCE = ("https://github.com/NVIDIA-NeMo/Megatron-Bridge docs/performance-summary-archive.md "
          "@ 067f987d (section '26.06 NeMo Container')")
TEMPLATE = {  # model -> the shared point whose architecture and routing the rows copy
    "DeepSeekV3": "train-mbridge-2602-b300-deepseekv3-mxfp8",
    "GPT-OSS-120B": "train-mbridge-2602-b200-gpt-oss-120b-bf16",
    "Qwen3-30B-A3B": "train-mbridge-2602-gb200-qwen3-30b-a3b-mxfp8",
    "Qwen3-235B-A22B": "train-mbridge-2602-gb200-qwen3-235b-a22b-mxfp8",
}
SYSTEM = {  # the table's system -> (gpu, gpus per node, NVLink kind, NIC kind) as the shared points state them
    "DGX-GB300": ("GB300", 4, "nvl72", "unknown"),
    "DGX-GB200": ("GB200", 4, "nvl72", "unknown"),
    "DGX-B300": ("B300", 8, "nvlink", "unknown"),
    "DGX-H100": ("H100", 8, "nvlink", "ib_cx7"),
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
    gpu, per_node, nvlink, nic = SYSTEM[system]
    dp = gpus // (tp * pp * cp)
    p = copy.deepcopy(template)
    slug = model.lower().replace("deepseekv3", "deepseekv3").replace("-", "")
    p["id"] = f"train-mbridge-2606-{gpu.lower()}-{slug}-{precision.lower()}-pp{pp}-ep{ep}-gbs{gbs}"
    p["source"] = SOURCE
    p["cluster"] = {"gpu": gpu, "nodes": gpus // per_node, "gpus_per_node": per_node,
                    "intra_node": {"kind": nvlink, "GBps_per_gpu": None},
                    "nic": {"kind": nic, "GBps_per_gpu": None}}
    q = p["params"]
    q.update({"gpus": gpus, "seq_len": seq, "global_batch": gbs, "micro_batch": mbs, "tp": tp, "pp": pp,
              "ep": ep, "etp": None, "dp": dp, "cp": cp, "vp": vp, "grad_accum": gbs // (dp * mbs),
              "precision": precision, "precision_detail": precision,
              "framework": "Megatron-Bridge / Megatron-Core (NeMo 26.06)"})
    p["metric"] = {"name": "tokens_per_s_per_gpu", "value": tokens, "unit": "tokens/s/GPU",
                   "definition": "global_batch x seq_len / (step time x gpus), as published"}
    p["time_us"] = gbs * seq / (tokens * gpus) * 1e6
    p["notes"] = (f"Published model TFLOP/s/GPU = {tflops}. time_us = global_batch x seq_len / "
                  f"(tokens_per_s_per_gpu x gpus) = step time. A row of the 26.06 table (no shared point is "
                  f"from this release); architecture and routing copied from {template['id']}.")
    return p


def main():
    shared, out = sys.argv[1], sys.argv[2]
    data = json.load(open(shared))
    by_id = {p["id"]: p for p in data["points"]}
    points = [point(by_id[TEMPLATE[m]], m, row) for m, rows in ROWS.items() for row in rows]
    doc = {"schema": "moesim-validation/1",
           "description": ("MoE pre-training throughput of NVIDIA's Megatron-Bridge 26.06 table (MXFP8 and FP8 "
                           "recipes with the software of mid-2026) for the models moesim has presets of: held out "
                           "of every fit moesim makes. Written by make_megatron_bridge_2606.py beside this file."),
           "points": points}
    with open(out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
