#!/usr/bin/env python3
"""Writes megatron_lm_moe_recipes.json: the MoE training runs that Megatron-LM publishes with
their full settings (examples/moe_recipes: a README table of median TFLOP/s per GPU, and one
YAML per run with the exact Megatron-LM arguments and environment). Each row becomes a
training-step point that states its own run: plan, precision, CUDA graphs, dispatcher and its
SMs, the all-to-all overlap, recomputation, gradient-reduce overlap, NVLink SHARP, pipeline
layout, offloading. Held out of every fit moesim makes. Rows without a published figure (the
DeepSeek-V3 H100 recipes) are left out; models moesim has no preset for stay in, and are listed
as unsupported.

Usage: python3 validation/heldout/make_megatron_lm_moe_recipes.py SHARED_PUBLISHED_JSON MEGATRON_LM_CHECKOUT OUT_JSON
  MEGATRON_LM_CHECKOUT  a clone of https://github.com/NVIDIA/Megatron-LM (git directory or work tree)
"""
import copy
import json
import re
import subprocess
import sys

import yaml

from bridge_points import cluster_of, write_dataset

COMMIT = "9c5258f109"
README = "examples/moe_recipes/README.md"
SYSTEMS = {"h100": "DGX-H100", "b200": "DGX-B200", "b300": "DGX-B300", "gb200": "DGX-GB200", "gb300": "DGX-GB300"}
# the model column -> (the point's model name, a shared point whose architecture and routing are copied)
MODELS = {
    "DeepSeek-V3": ("DeepSeekV3", "train-mbridge-2602-gb200-deepseekv3-mxfp8"),
    "Qwen3-235B-A22B": ("Qwen3-235B-A22B", "train-mbridge-2602-gb200-qwen3-235b-a22b-mxfp8"),
    "Qwen3-30B-A3B": ("Qwen3-30B-A3B", "train-mbridge-2602-gb200-qwen3-30b-a3b-mxfp8"),
    "DeepSeek-V4-Pro": ("DeepSeek-V4-Pro", None),
    "DeepSeek-V4-Flash": ("DeepSeek-V4-Flash", None),
}


def show(checkout, path):
    return subprocess.run(["git", "-C", checkout, "show", f"{COMMIT}:{path}"], check=True, capture_output=True,
                          text=True).stdout


def table_rows(text):
    """(model, yaml path, published TFLOP/s/GPU or None) per row of the README's recipe index."""
    rows, model = [], None
    for tr in re.findall(r"<tr>(.*?)</tr>", text, re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)
        if not cells:
            continue
        if 'rowspan' in tr.split("</td>")[0] or len(cells) == 7:
            model = re.sub(r"<[^>]*>", "", cells[0]).strip()
            cells = cells[1:]
        href = re.search(r'href="([^"]+)"', cells[0]).group(1)
        value = re.sub(r"<[^>]*>", "", cells[-1]).strip()
        rows.append((model, "examples/moe_recipes/" + href, float(value) if value else None))
    return rows


def expand_layout(layout):
    """Megatron's pipeline_model_parallel_layout ("Et*4|(tttt|)*14tmL") as decoder layers per
    virtual stage: E embedding, t a decoder layer, m an MTP layer, L the loss, | a stage boundary."""
    while "(" in layout:
        layout = re.sub(r"\(([^()]*)\)\*(\d+)", lambda m: m.group(1) * int(m.group(2)), layout)
    layout = re.sub(r"([a-zA-Z])\*(\d+)", lambda m: m.group(1) * int(m.group(2)), layout)
    return [stage.count("t") for stage in layout.split("|")]


def pipeline(args, layers, pp):
    """(vp, layout or None): virtual stages per rank and decoder layers per virtual stage."""
    if "pipeline_model_parallel_layout" in args:
        layout = expand_layout(args["pipeline_model_parallel_layout"])
        return len(layout) // pp, layout
    per_stage = args.get("num_layers_per_virtual_pipeline_stage")
    extra = int(bool(args.get("account_for_embedding_in_pipeline_split"))) + int(
        bool(args.get("account_for_loss_in_pipeline_split")))
    if not per_stage:
        return 1, None
    stages = (layers + extra) // per_stage
    layout = [per_stage] * stages
    if args.get("account_for_embedding_in_pipeline_split"):
        layout[0] -= 1
    if args.get("account_for_loss_in_pipeline_split"):
        layout[-1] -= 1
    return stages // pp, layout


def recipe_of(args, path):
    scopes = args.get("cuda_graph_scope") or []
    scopes = scopes.split() if isinstance(scopes, str) else list(scopes)
    graphed = args.get("cuda_graph_impl") in ("transformer_engine", "local") or args.get("external_cuda_graph")
    graphs = "step" if "full_iteration" in scopes else "parts" if graphed and scopes else "none"
    if graphed and not scopes:
        sys.exit(f"{path}: CUDA graphs without a scope are not mapped")
    backend = args.get("moe_flex_dispatcher_backend") if args.get("moe_token_dispatcher_type") == "flex" else None
    dispatcher = {"hybridep": "hybridep", "deepep": "deepep", None: "alltoall"}[backend]
    recipe = {"graphs": graphs, "a2a_overlap": bool(args.get("overlap_moe_expert_parallel_comm")),
              "dispatcher": dispatcher, "source": f"Megatron-LM {path} @ {COMMIT}"}
    if graphs == "parts":
        recipe["cuda_graph_scope"] = scopes
    sms = args.get("moe_hybridep_num_sms") or args.get("moe_deepep_num_sms") or args.get("moe_flex_dispatcher_num_sms")
    if sms:
        recipe["dispatcher_sms"] = int(sms)
    modules = args.get("recompute_modules")
    if args.get("recompute_granularity") == "selective":
        recipe["recompute_modules"] = (modules.split() if isinstance(modules, str) else list(modules or [])) or [
            "core_attn"]  # Megatron-LM's default --recompute-modules
    return recipe


def precision_of(args):
    recipe = args.get("fp8_recipe")
    if not recipe:
        return "BF16"
    return {"mxfp8": "MXFP8", "blockwise": "FP8-blockwise", "tensorwise": "FP8-CS", "delayed": "FP8"}[recipe]


def point(shared, model_label, path, tflops, spec):
    args, env = spec["ARGS"], spec.get("ENV_VARS") or {}
    gpu = path.split("/")[-2]
    name, template_id = MODELS[model_label]
    tp, pp = args["tensor_model_parallel_size"], args["pipeline_model_parallel_size"]
    ep, cp = args["expert_model_parallel_size"], args.get("context_parallel_size", 1)
    gpus = int(re.search(r"_(\d+)GPU_", path).group(1))
    mbs, gbs, seq = args["micro_batch_size"], args["global_batch_size"], args["seq_length"]
    dp = gpus // (tp * pp * cp)
    vp, layout = pipeline(args, args["num_layers"], pp)
    p = copy.deepcopy(shared[template_id]) if template_id else {
        "family": "train_step", "kind": "measured", "confidence": "high", "op": "train_step",
        "params": {"architecture": None, "routing": "force_balanced", "drop_policy": None}}
    stem = path.split("/")[-1].removesuffix(".yaml").lower().replace("_", "-")
    p["id"] = f"train-mlm-moe-recipes-{gpu}-{model_label.lower()}-{stem}"
    p["source"] = f"https://github.com/NVIDIA/Megatron-LM {README} and {path} @ {COMMIT}"
    p["cluster"] = cluster_of(SYSTEMS[gpu], gpus)
    q = p["params"]
    q.update({"model": name, "model_label": model_label, "gpus": gpus, "seq_len": seq, "global_batch": gbs,
              "micro_batch": mbs, "tp": tp, "pp": pp, "ep": ep, "etp": args.get("expert_tensor_parallel_size", 1),
              "dp": dp, "cp": cp, "vp": vp, "grad_accum": gbs // (dp * mbs), "precision": precision_of(args),
              "precision_detail": f"bf16 with fp8_recipe {args.get('fp8_recipe')}",
              "routing": "force_balanced" if args.get("moe_router_force_load_balancing") else "trained",
              "framework": f"Megatron-LM (main @ {COMMIT}, examples/moe_recipes)",
              "overlap_grad_reduce": bool(args.get("overlap_grad_reduce")),
              "nccl_nvls": str(env.get("NCCL_NVLS_ENABLE", "1")) != "0",
              "recipe": recipe_of(args, path)})
    q.pop("fsdp", None)
    if layout:
        q["pipeline_layout"] = layout
    offload = [k for k in ("offload_optimizer_states", "fine_grained_activation_offloading") if args.get(k)]
    if offload:
        q["offload"] = offload
    if args.get("mtp_num_layers") and q.get("architecture"):
        q["architecture"]["mtp_layers"] = args["mtp_num_layers"]
    p["metric"] = {"name": "tflops_per_gpu", "value": tflops, "unit": "TFLOP/s/GPU",
                   "definition": "median model TFLOP/s per GPU as Megatron-LM's training loop counts them "
                                 "(num_floating_point_operations), as published"}
    p["time_us"] = None
    p["notes"] = (f"README row: median TFLOP/s/GPU {tflops}. Settings from the run's YAML (ARGS, ENV_VARS). "
                  "delay_wgrad_compute and paged stash are not modeled (the first moves weight gradients "
                  "within the overlapped schedule; the second only memory)."
                  + (f" Architecture and routing copied from {template_id}." if template_id else ""))
    return p


def main():
    shared_path, checkout, out = sys.argv[1], sys.argv[2], sys.argv[3]
    shared = {p["id"]: p for p in json.load(open(shared_path))["points"]}
    points = []
    for model, path, tflops in table_rows(show(checkout, README)):
        if tflops is None:
            continue
        points.append(point(shared, model, path, tflops, yaml.safe_load(show(checkout, path))))
    description = ("Megatron-LM's published MoE training recipes (examples/moe_recipes @ " + COMMIT + "): "
                   "median model TFLOP/s per GPU with each run's full arguments, held out of every fit "
                   "moesim makes. Written by make_megatron_lm_moe_recipes.py beside this file.")
    write_dataset(out, description, points)


if __name__ == "__main__":
    main()
