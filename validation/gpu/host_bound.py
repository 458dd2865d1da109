#!/usr/bin/env python3
"""How long does the host take per launched kernel when it, not the GPU, sets the pace?

host_overhead.py showed that an eager MoE layer at 4096 tokens leaves the GPU waiting for the
host 12 % of the time. This script measures the host's side alone: the same layer (imported
from host_overhead.py) with so few tokens that every kernel finishes before the host has
launched the next, so wall time / kernels is the host's time per kernel of an eager
PyTorch MoE layer. It does so for 16 and 32 local experts (EP 8 of Qwen3-30B-A3B's 128 and of
DeepSeek-V3's 256), and for reference times three things that set that cost:
  tiny_cuda_op_us   x.add_(1) on a one-element CUDA tensor, back to back: the cheapest launch
  tiny_cpu_op_us    the same op on a CPU tensor: PyTorch's dispatcher without CUDA
  getpid_us         one os.getpid() system call (a VM that intercepts system calls shows here)
Writes OUT/host_bound.json. Usage: host_bound.py OUT_DIR
"""
import os
import sys
import time

import torch

import host_overhead as layer_module


def per_call_us(fn, calls, sync=False):
    for _ in range(100):
        fn()
    if sync:
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(calls):
        fn()
    if sync:
        torch.cuda.synchronize()
    return (time.perf_counter() - t0) / calls * 1e6


def host_bound_layer(experts, tokens):
    layer_module.EXPERTS = experts
    row = layer_module.measure(tokens)
    return {
        "experts": experts,
        "tokens": tokens,
        "wall_ms": row["wall_ms"],
        "gpu_busy_ms": row["gpu_busy_ms"],
        "kernels_per_iteration": row["kernels_per_iteration"],
        "wall_us_per_kernel": round(row["wall_ms"] * 1e3 / row["kernels_per_iteration"], 2),
        "gpu_idle_share": row["gpu_idle_share"],
    }


def main():
    out_dir = sys.argv[1]
    cuda_one = torch.zeros(1, device="cuda")
    cpu_one = torch.zeros(1)
    reference = {
        "tiny_cuda_op_us": round(per_call_us(lambda: cuda_one.add_(1), 20000, sync=True), 2),
        "tiny_cpu_op_us": round(per_call_us(lambda: cpu_one.add_(1), 20000), 2),
        "getpid_us": round(per_call_us(os.getpid, 200000), 3),
    }
    rows = [host_bound_layer(e, t) for e in (16, 32) for t in (64, 256)]
    result = {"gpu": torch.cuda.get_device_name(), "torch": torch.__version__, "reference": reference, "rows": rows}
    layer_module.print_and_write(result, out_dir, "host_bound.json")


if __name__ == "__main__":
    main()
