#!/usr/bin/env python3
"""Writes a held-out file of the MoE pre-training rows of NVIDIA's Megatron-Bridge performance
archive (docs/performance-summary-archive.md) that shared/validation/published.json leaves out, for
the models moesim has presets of: main values only (the bracketed variants are other
quantization granularities). Held out of every fit. Each point copies the architecture of a
shared point of the same model (named in its notes); the cluster is the row's system, sized as
the shared points of that system are (DGX: 8 GPUs a node; GB200/GB300 NVL72: 4 a compute tray).

megatron_bridge_archive_moe.json: the archive @ 0a25f911, the page shared/validation takes its
25.09, 25.11 and 26.02 rows from, every release in it:
  git -C MEGATRON_BRIDGE show 0a25f911:docs/performance-summary-archive.md > ARCHIVE.md
  python3 validation/heldout/make_megatron_bridge_archive.py SHARED_PUBLISHED_JSON ARCHIVE.md \
      megatron_bridge_archive_moe.json
megatron_bridge_2604_moe.json: the 26.04 and 26.04.01 tables of the archive @ 067f987d:
  git -C MEGATRON_BRIDGE show 067f987d:docs/performance-summary-archive.md > ARCHIVE.md
  python3 validation/heldout/make_megatron_bridge_archive.py SHARED_PUBLISHED_JSON ARCHIVE.md \
      megatron_bridge_2604_moe.json --commit 067f987d --releases 26.04,26.04.01
"""
import argparse
import copy
import json
import re

from bridge_points import SYSTEM, cluster_of, set_throughput, write_dataset

SOURCE = "https://github.com/NVIDIA-NeMo/Megatron-Bridge docs/performance-summary-archive.md @ {commit}"
MODELS = {  # the table's model name -> (moesim's name, the shared point whose architecture it copies)
    "DeepSeekV3": ("DeepSeekV3", "train-mbridge-2602-b300-deepseekv3-mxfp8"),
    "GPT OSS 120B": ("GPT-OSS-120B", "train-mbridge-2602-b200-gpt-oss-120b-bf16"),
    "Qwen3_30B_a3B": ("Qwen3-30B-A3B", "train-mbridge-2602-gb200-qwen3-30b-a3b-mxfp8"),
    "Qwen3_235B_a22B": ("Qwen3-235B-A22B", "train-mbridge-2602-gb200-qwen3-235b-a22b-mxfp8"),
}

def main_value(cell):
    """A cell's main value: the text before a bracketed variant; None for n/a."""
    text = cell.split("(")[0].strip()
    return None if text in ("", "n/a") else text


def tables(markdown):
    """Yields (release, heading, header cells, row cells) for every table row of every release."""
    release = heading = None
    header = None
    for line in markdown.splitlines():
        m = re.match(r"## (\d\d\.\d\d(?:\.\d\d)?) NeMo Container", line)
        if m:
            release, header = m.group(1), None
            continue
        if line.startswith("#### "):
            heading, header = line[5:].strip(), None
            continue
        if not line.startswith("|") or release is None:
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = cells
        elif not set(line) <= set("|-: "):
            yield release, heading, header, cells


def rows(markdown):
    """The MoE rows: release, system, model label and the row's columns by name."""
    for release, heading, header, cells in tables(markdown):
        row = dict(zip(header, cells))
        system = row.get("System") or heading.replace("System: ", "")
        label = row.get("Model") or heading.replace("Model: ", "")
        name = label.split("(")[0].strip()
        if name in MODELS and system in SYSTEM:
            yield release, system, label, row


def shared_keys(points):
    keys = set()
    for p in points:
        if p["family"] != "train_step":
            continue
        q = p["params"]
        m = re.search(r"NeMo (\d\d\.\d\d(?:\.\d\d)?)", q.get("framework", ""))
        if m:
            keys.add((m.group(1), p["cluster"]["gpu"], q["model"], q["precision"], q["global_batch"], q["micro_batch"],
                      q["tp"], q["pp"], q["ep"]))
    return keys


def point(template, commit, release, system, label, row):
    model, _ = MODELS[label.split("(")[0].strip()]
    gpu = SYSTEM[system][0]
    value = lambda key: main_value(row[key])
    integer = lambda key: None if value(key) is None else int(value(key))
    gpus, gbs, mbs, seq = integer("#-GPUs"), integer("GBS"), integer("MBS"), integer("Sequence Length")
    tp, pp, cp, vp, ep = integer("TP"), integer("PP"), integer("CP"), integer("VP"), integer("EP")
    precision = value("Precision") if "Precision" in row else "FP8"
    tokens, tflops = float(value("Tokens / sec / GPU")), value("Model TFLOP / sec / GPU")
    dp = gpus // (tp * pp * cp)
    p = copy.deepcopy(template)
    slug = "-".join(re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-") for s in (gpu, label, precision))
    p["id"] = f"train-mbridge-{release.replace('.', '')}-{slug}-pp{pp}-ep{ep}-gbs{gbs}"
    p["source"] = SOURCE.format(commit=commit) + f" (section '{release} NeMo Container')"
    p["cluster"] = cluster_of(system, gpus)
    q = p["params"]
    q.update({"model": model, "model_label": label, "gpus": gpus, "seq_len": seq, "global_batch": gbs,
              "micro_batch": mbs, "tp": tp, "pp": pp, "ep": ep, "etp": None, "dp": dp, "cp": cp, "vp": vp,
              # the table's GA where it has one (25.09 and 25.11), as published even where it
              # contradicts GBS / (DP x MBS)
              "grad_accum": integer("GA") if "GA" in row else gbs // (dp * mbs),
              "precision": precision, "precision_detail": precision,
              "drop_policy": "token_drop" if "tokendrop" in label else None,
              "framework": f"Megatron-Bridge / Megatron-Core (NeMo {release})"})
    if model == "DeepSeekV3":  # the label says whether the run had its MTP layer; else the recipe's
        q["architecture"]["mtp_layers"] = 0 if "w/o MTP" in label else 1 if "w/ MTP" in label else None
    set_throughput(p, gbs, seq, gpus, tokens, tflops,
                   f"A row of the archive that shared/validation leaves out; architecture copied from "
                   f"{template['id']}.")
    return p


def listed(items):
    """'a', 'a and b', 'a, b and c'."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def main():
    args = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    args.add_argument("shared")
    args.add_argument("archive")
    args.add_argument("out")
    args.add_argument("--commit", default="0a25f911", help="the archive's Megatron-Bridge commit (for the source)")
    args.add_argument("--releases", help="comma-separated releases to keep (default: all)")
    a = args.parse_args()
    data = json.load(open(a.shared))
    by_id = {p["id"]: p for p in data["points"]}
    known = shared_keys(data["points"])
    wanted = a.releases.split(",") if a.releases else None
    points, releases = [], []
    for release, system, label, row in rows(open(a.archive).read()):
        if wanted and release not in wanted:
            continue
        p = point(by_id[MODELS[label.split("(")[0].strip()][1]], a.commit, release, system, label, row)
        q = p["params"]
        key = (release, p["cluster"]["gpu"], q["model"], q["precision"], q["global_batch"], q["micro_batch"], q["tp"],
               q["pp"], q["ep"])
        if key not in known:
            points.append(p)
            releases += [release] if release not in releases else []
    description = ("MoE pre-training throughput rows of NVIDIA's Megatron-Bridge performance archive ("
                   + listed(sorted(releases)) + ") that shared/validation leaves out, for the models moesim "
                   "has presets of: held out of every fit moesim makes. Written by make_megatron_bridge_archive.py "
                   "beside this file.")
    write_dataset(a.out, description, points)


if __name__ == "__main__":
    main()
