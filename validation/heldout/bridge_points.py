"""What the held-out generators share: how a row of NVIDIA's Megatron-Bridge performance tables
becomes a moesim-validation/1 training-step point (its system's cluster, its published throughput)."""
import json

SYSTEM = {  # the table's system -> (gpu, gpus per node, NVLink kind, NIC kind) as the shared points state them
    "DGX-GB300": ("GB300", 4, "nvl72", "unknown"),
    "DGX-GB200": ("GB200", 4, "nvl72", "unknown"),
    "DGX-B300": ("B300", 8, "nvlink", "unknown"),
    "DGX-B200": ("B200", 8, "nvlink", "unknown"),
    "DGX-H100": ("H100", 8, "nvlink", "ib_cx7"),
}


def cluster_of(system, gpus):
    gpu, per_node, nvlink, nic = SYSTEM[system]
    return {"gpu": gpu, "nodes": gpus // per_node, "gpus_per_node": per_node,
            "intra_node": {"kind": nvlink, "GBps_per_gpu": None}, "nic": {"kind": nic, "GBps_per_gpu": None}}


def set_throughput(p, gbs, seq, gpus, tokens, tflops, provenance):
    """The point's published tokens/s/GPU, the step time it implies, and notes naming where it is from."""
    p["metric"] = {"name": "tokens_per_s_per_gpu", "value": tokens, "unit": "tokens/s/GPU",
                   "definition": "global_batch x seq_len / (step time x gpus), as published"}
    p["time_us"] = gbs * seq / (tokens * gpus) * 1e6
    p["notes"] = (f"Published model TFLOP/s/GPU = {tflops}. time_us = global_batch x seq_len / "
                  f"(tokens_per_s_per_gpu x gpus) = step time. {provenance}")


def write_dataset(path, description, points):
    """A moesim-validation/1 file of the points."""
    with open(path, "w") as f:
        json.dump({"schema": "moesim-validation/1", "description": description, "points": points}, f, indent=1)
        f.write("\n")
