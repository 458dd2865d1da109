#!/usr/bin/env python3
"""Is an eager PyTorch MoE layer bound by its GPU kernels or by the host that launches them?

One transformer layer of the shape one EP rank of Qwen3-30B-A3B runs (EP 8: 4096 tokens of
d_model 2048, GQA 32 x 128 / 4 KV heads, 16 local experts of width 768 receiving top-8 of 16,
i.e. 2048 rows each, as 128 experts over 8 ranks give), forward and backward in BF16, written
the way Megatron-Core's eager path runs it (a GEMM per expert, as Transformer Engine's
GroupedLinear launches them; a router softmax and top-k; a sort-based permutation). No
all-to-all: one GPU.

Prints, and writes as JSON to OUT/host_overhead.json, for 4096, 8192 and 16384 tokens:
  wall_ms        time per forward + backward, back to back (20 iterations after 5 of warm-up)
  gpu_busy_ms    sum of the GPU kernels' durations per iteration (torch.profiler, 5 iterations)
  kernels        GPU kernels per iteration
  gpu_idle_share 1 - busy / wall: the time the GPU waited for the host
  top_kernels_ms the 25 kernels that take longest per iteration (name, ms, launches)
Megatron-Core's eager layer launches more small kernels than this one (auxiliary losses,
fused casts, bookkeeping), so its host share is at least this.
Usage: host_overhead.py OUT_DIR
"""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

D, HEADS, KV_HEADS, HEAD_DIM = 2048, 32, 4, 128
EXPERTS, TOP_K, FFN = 16, 8, 768


def layer_params(device):
    def p(*shape):
        return (torch.randn(*shape, device=device, dtype=torch.bfloat16) * 0.02).requires_grad_()
    return {
        "norm1": torch.ones(D, device=device, dtype=torch.bfloat16, requires_grad=True),
        "qkv": p(D, (HEADS + 2 * KV_HEADS) * HEAD_DIM),
        "out": p(HEADS * HEAD_DIM, D),
        "norm2": torch.ones(D, device=device, dtype=torch.bfloat16, requires_grad=True),
        "router": p(D, EXPERTS),
        "fc1": [p(D, 2 * FFN) for _ in range(EXPERTS)],
        "fc2": [p(FFN, D) for _ in range(EXPERTS)],
    }


def rms_norm(x, w):
    return x * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + 1e-6).to(x.dtype) * w


def layer(x, w):
    tokens = x.shape[0]
    h = rms_norm(x, w["norm1"])
    qkv = h @ w["qkv"]
    q, k, v = qkv.split([HEADS * HEAD_DIM, KV_HEADS * HEAD_DIM, KV_HEADS * HEAD_DIM], dim=-1)
    q = q.view(1, tokens, HEADS, HEAD_DIM).transpose(1, 2)
    k = k.view(1, tokens, KV_HEADS, HEAD_DIM).transpose(1, 2).repeat_interleave(HEADS // KV_HEADS, dim=1)
    v = v.view(1, tokens, KV_HEADS, HEAD_DIM).transpose(1, 2).repeat_interleave(HEADS // KV_HEADS, dim=1)
    a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    x = x + a.transpose(1, 2).reshape(tokens, HEADS * HEAD_DIM) @ w["out"]
    h = rms_norm(x, w["norm2"])
    probs = torch.softmax((h @ w["router"]).float(), dim=-1)
    top_p, top_e = probs.topk(TOP_K, dim=-1)
    flat_e = top_e.reshape(-1)
    order = flat_e.argsort(stable=True)
    counts = torch.bincount(flat_e, minlength=EXPERTS).tolist()  # host sync, as the dropless dispatcher's
    rows = h.repeat_interleave(TOP_K, dim=0)[order]
    outs = []
    for e, part in enumerate(rows.split(counts)):
        g, u = (part @ w["fc1"][e]).chunk(2, dim=-1)
        outs.append((F.silu(g) * u) @ w["fc2"][e])
    y = torch.empty_like(rows)
    y[order] = torch.cat(outs)
    y = (y.view(tokens, TOP_K, D) * top_p.to(y.dtype).unsqueeze(-1)).sum(1)
    return x + y


def step(x, w):
    out = layer(x, w)
    out.float().sum().backward()


def measure(tokens, device="cuda"):
    torch.manual_seed(0)
    w = layer_params(device)
    x = torch.randn(tokens, D, device=device, dtype=torch.bfloat16, requires_grad=True)
    for _ in range(5):
        step(x, w)
    torch.cuda.synchronize()
    iters = 20
    t0 = time.perf_counter()
    for _ in range(iters):
        step(x, w)
    torch.cuda.synchronize()
    wall_ms = (time.perf_counter() - t0) / iters * 1e3

    from torch.profiler import ProfilerActivity, profile
    prof_iters = 5
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(prof_iters):
            step(x, w)
        torch.cuda.synchronize()
    kernels = [e for e in prof.events() if getattr(e, "device_type", None) == torch.autograd.DeviceType.CUDA]
    busy_us = sum(getattr(e, "device_time_total", None) or getattr(e, "cuda_time_total", 0) for e in kernels)
    if not kernels:  # older profilers attach kernels to the ops that launched them
        averages = prof.key_averages()
        busy_us = sum(getattr(a, "self_device_time_total", None) or getattr(a, "self_cuda_time_total", 0) for a in averages)
        kernels = [None] * int(sum(len(getattr(e, "kernels", [])) for e in prof.events()))
    gpu_busy_ms = busy_us / 1e3 / prof_iters
    by_name = {}
    for e in kernels:
        if e is None:
            continue
        t = getattr(e, "device_time_total", None) or getattr(e, "cuda_time_total", 0)
        entry = by_name.setdefault(e.name[:90], [0.0, 0])
        entry[0] += t / 1e3 / prof_iters
        entry[1] += 1 / prof_iters
    top = sorted(by_name.items(), key=lambda kv: -kv[1][0])[:25]
    return {
        "tokens": tokens,
        "wall_ms": round(wall_ms, 3),
        "gpu_busy_ms": round(gpu_busy_ms, 3),
        "kernels_per_iteration": len(kernels) / prof_iters,
        "gpu_idle_share": round(max(0.0, 1 - gpu_busy_ms / wall_ms), 3),
        "top_kernels_ms": [[name, round(ms, 4), round(n, 1)] for name, (ms, n) in top],
    }


def main():
    out_dir = sys.argv[1]
    rows = [measure(t) for t in (4096, 8192, 16384)]
    result = {"gpu": torch.cuda.get_device_name(), "torch": torch.__version__, "layer": "Qwen3-30B-A3B, one EP-8 rank's share",
              "rows": rows}
    print_and_write(result, out_dir, "host_overhead.json")


def print_and_write(result, out_dir, name):
    print(json.dumps(result, indent=1))
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, name), "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
