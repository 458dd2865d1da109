#pragma once
#include <algorithm>

#include "hardware/cluster.hpp"
#include "hardware/dtype.hpp"

namespace moesim {

// Keys per block, and queries per tile, of a fused attention kernel (FlashAttention-3's
// hopper/tile_size.h for head dims up to 128; cuDNN's alike).
inline constexpr double ATTENTION_KEY_BLOCK = 128;
// Fixed time per query tile of a fused attention kernel, in blocks of keys' time (the .cpp).
inline constexpr double ATTENTION_TILE_OVERHEAD_BLOCKS = 5;

// Where a transfer runs: over the node's NVSwitch, or out of the NIC.
enum class LinkScope { INTRA_NODE, INTER_NODE };

// Kernel and transfer times on one GPU of the cluster, from the cluster's efficiency factors
// and overheads (preset values, or a calibration profile's fitted ones: hardware/kernel_profile).
class CostModel {
 public:
  // Kernel rates: what an isolated kernel benchmark measures (the cluster's efficiencies).
  CostModel(const ClusterSpec& cluster, Dtype compute_dtype) : CostModel(cluster, compute_dtype, 1.0) {}
  // The rates kernels keep inside a training step: the tensor-core work (GEMMs and fused
  // attention) at the GPU's training_tensor_fraction of its kernel rate (hardware/gpu.hpp).
  static CostModel in_training(const ClusterSpec& cluster, Dtype compute_dtype) {
    return CostModel(cluster, compute_dtype, cluster.gpu.training_tensor_fraction);
  }

  // One kernel C[m x n] = A[m x k] B[k x n] in the compute dtype: a launch overhead, then
  // whichever is slower of the tensor cores and streaming the operands through HBM (what
  // bounds a GEMM of few rows: the weights must be read however few tokens use them). The
  // tensor cores compute whole output tiles (what makes an expert with 3 tokens cost as much
  // as one with 128), one per SM at a time, so the tiles run in waves and the last wave's
  // idle SMs count too (wave quantization: a 1024^3 GEMM fills 64 of an A100's 108 SMs);
  // a GEMM of fewer tiles than SMs splits k to fill them (split-K).
  double gemm_s(double m, double n, double k) const;
  // Tensor-core time of one tile-padded row of [n x k] weights: many rows' GEMMs summed by
  // their padded rows (an EP rank's experts), where each GEMM is large enough to be compute bound.
  double gemm_row_s(double n, double k) const { return 2.0 * n * k / flops_per_s_; }
  // FLOPs that run at GEMM speed without tile effects (large attention kernels).
  double flops_s(double flops) const { return flops / flops_per_s_; }
  // Fused attention's core (softmax(QK^T)V in `dtype`: BF16 unless a recipe asks for FP8
  // attention) of `forward_flops`:
  // its forward (QK^T and PV: 2 (d_qk + d_v) FLOPs per score), or its backward at its own
  // efficiency, which recomputes QK^T and runs dP = dO V^T, dV, dQ and dK: 2 (3 d_qk + 2 d_v)
  // per score, 2.5x the forward's where the head dims are equal. The cluster's efficiencies
  // are those of head dim 128 on long sequences; a smaller head dim does less matrix work per
  // score while the softmax's per-score work stays, and a tile of queries that computes few
  // blocks of 128 keys (`key_blocks`, on average) loses a fixed time per tile (see the .cpp).
  // FP8 and MXFP8 run at their own efficiencies of the FP8 peak.
  double attention_core_s(double forward_flops, bool backward, int qk_head_dim, int v_head_dim, double key_blocks,
                          AttentionDtype dtype) const;
  // Keys each tile of queries computes, on average, in causal attention over seq_len tokens:
  // half of them, or within a sliding window of w < seq_len keys (0: none) the window and the
  // diagonal block, as whole blocks of ATTENTION_KEY_BLOCK keys are computed.
  static double causal_computed_keys(double seq_len, double window) {
    return window > 0 && window < seq_len ? std::min(window + ATTENTION_KEY_BLOCK, seq_len / 2) : seq_len / 2;
  }
  // cuDNN's FP8 and MXFP8 backward skip no block outside a sliding window: a windowed layer
  // costs the whole causal range (its benchmark, GPT-OSS's 128-key window: time grows with the
  // square of the length, 90 ms at 32k tokens against 3.7 ms in BF16 on a GB200).
  static bool attention_skips_window(bool backward, AttentionDtype dtype) {
    return !(backward && dtype != AttentionDtype::BF16);
  }
  // HBM time of bytes moved by a streaming kernel (element-wise ops, permutations, the
  // optimizer step), without the launch overhead: callers sum it over rows.
  double memory_bound_s(double bytes) const { return bytes / hbm_Bps_; }
  // One streaming kernel moving `bytes` (read + written), launch overhead included.
  double memory_kernel_s(double bytes) const { return cluster_.kernel_overhead_s + memory_bound_s(bytes); }
  double bandwidth_Bps(LinkScope scope) const;
  double latency_s(LinkScope scope) const;
  double transfer_s(double bytes, LinkScope scope) const { return latency_s(scope) + bytes / bandwidth_Bps(scope); }
  // NCCL all-to-all of `bytes_per_rank` (each rank's whole send buffer) over n ranks, of which
  // `per_node` share an NVLink domain: with ClusterSpec::nccl_latencies, NCCL's protocol base
  // latency plus one hop latency per peer (its send/recv rounds, priced at the ring's step
  // latencies: NVLink for peers in the domain, the network's for the rest) and the bytes that
  // leave the rank at the protocol's share of the scope's rate; the fastest protocol runs.
  // Otherwise one latency of the scope and the bytes at its rate (a calibration profile's fit).
  double nccl_alltoall_s(double bytes_per_rank, int n, int per_node) const;
  // Ring all-reduce of `bytes` over n GPUs spread evenly over `nodes` nodes: 2 (n-1)/n of the
  // bytes cross each GPU's port in 2 (n-1) steps. With ClusterSpec::nccl_latencies, priced as
  // NCCL's tuner prices its ring (a base latency and one hop latency per step, per protocol;
  // LL keeps half the bandwidth up to NCCL's cap for the GPU generation or the host, LL128
  // 0.92; the fastest protocol runs; within one NVLink domain NVLS too), each node's ring
  // crossings shared by its members' NICs; otherwise each step at the scope's link latency
  // and the bytes at its rate, as a calibration profile fits them.
  double ring_allreduce_s(double bytes, int n, int nodes) const { return ring_prices(n, nodes).time_s(bytes); }
  // The same, in parts, for an engine that moves the ring's bytes itself (the DES): the
  // latency of all steps, the share of the link rate the protocol keeps, the parallel rings
  // (channels; one per member of a node when the ring spans nodes, so that every member's
  // NIC carries one crossing) and the rate the bytes move at.
  struct RingAllReduce {
    double latency_s = 0, bandwidth_share = 1, ring_bytes = 0, rate_Bps = 1;
    int channels = 1;
  };
  RingAllReduce ring_allreduce(double bytes, int n, int nodes) const;
  // What a ring of n GPUs over `nodes` nodes costs whatever its bytes, per protocol that can
  // run: the latency of its steps and the seconds per ring byte (callers that time many
  // all-reduces of one group keep it).
  // An NVLink SHARP all-reduce (NCCL's NVLS: the NVSwitch reduces, then multicasts) joins the
  // ring's protocols as a fourth way to run, priced by the same ring bytes: see ring_prices.
  static constexpr int MAX_PROTOCOLS = 4;
  struct RingPrices {
    int protocols = 0;
    double latency_s[MAX_PROTOCOLS] = {}, s_per_byte[MAX_PROTOCOLS] = {}, bandwidth_share[MAX_PROTOCOLS] = {1, 1, 1, 1};
    double ring_share = 0;  // ring bytes per byte reduced: 2 (n-1)/n
    double rate_Bps = 1;
    int channels = 1;
    // The protocol NCCL would run for `bytes` (the fastest), and its time.
    int fastest(double bytes) const {
      int best = 0;
      for (int p = 1; p < protocols; ++p)
        if (protocol_s(p, bytes) < protocol_s(best, bytes)) best = p;
      return best;
    }
    double protocol_s(int p, double bytes) const { return latency_s[p] + ring_share * bytes * s_per_byte[p]; }
    double time_s(double bytes) const { return protocols ? protocol_s(fastest(bytes), bytes) : 0; }
  };
  RingPrices ring_prices(int n, int nodes) const;
  double peak_flops() const { return peak_flops_; }

 private:
  void add_nvls(RingPrices& out, int n) const;
  CostModel(const ClusterSpec& cluster, Dtype compute_dtype, double tensor_fraction);

  ClusterSpec cluster_;
  double tensor_fraction_;  // of the kernel rate, on GEMMs and attention
  double peak_flops_;
  double flops_per_s_;
  double hbm_Bps_;
  double operand_bytes_;  // per element of A and B
};

}  // namespace moesim
