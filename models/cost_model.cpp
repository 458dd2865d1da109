#include "models/cost_model.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace moesim {

namespace {
constexpr double BF16_BYTES = 2;
}  // namespace

CostModel::CostModel(const ClusterSpec& cluster, Dtype compute_dtype, double tensor_fraction)
    : cluster_(cluster),
      tensor_fraction_(tensor_fraction),
      peak_flops_(cluster.gpu.peak_flops(compute_dtype)),
      flops_per_s_(peak_flops_ * (compute_dtype == Dtype::FP8 ? cluster.fp8_gemm_efficiency : cluster.gemm_efficiency) *
                   tensor_fraction),
      hbm_Bps_(cluster.gpu.hbm_Bps * cluster.hbm_efficiency),
      operand_bytes_(bytes_per_element(compute_dtype)) {}

double CostModel::gemm_s(double m, double n, double k) const {
  if (m <= 0) return 0;
  const double tm = cluster_.gemm_tile_rows, tn = cluster_.gemm_tile_cols, sms = cluster_.gpu.sms;
  const double tiles = std::ceil(m / tm) * std::ceil(std::max(n, 1.0) / tn);
  // Fewer tiles than SMs: the library splits k over floor(sms / tiles) SMs per tile (split-K).
  const double split = sms > tiles ? std::floor(sms / tiles) : 1;
  const double tile_slots = sms > 0 ? std::ceil(tiles * split / sms) * sms / split : tiles;
  const double compute_s = tile_slots * tm * tn * 2.0 * k / flops_per_s_;
  // A and B stream in the compute dtype, C in it too except under FP8, whose GEMMs write BF16
  // (as Transformer Engine's and DeepGEMM's do).
  const double output_bytes = operand_bytes_ < BF16_BYTES ? BF16_BYTES : operand_bytes_;
  const double operand_s = memory_bound_s((m * k + k * n) * operand_bytes_ + m * n * output_bytes);
  return cluster_.gemm_overhead_s + std::max(compute_s, operand_s);
}

namespace {
// Fused attention's rate at a head dim, relative to head dim 128. Below it: cuDNN's kernel on
// an H100 SXM5 at 4k tokens runs head dim 64 at 408 TFLOPS forward and 417 backward, against
// 609 and 499 at 128 (Shah et al., "FlashAttention-3", 2024, Fig. 5 and 6); interpolated
// between 64 and 128, the 64 ratio below. Above it: MLA's 192-wide keys (128-wide values) run
// their forward at the head dim 128 rate and their backward at ATTENTION_BACKWARD_RATE_AT_192
// of it (cuDNN's DeepSeek-V3 and Kimi K2 shapes on GB200 and GB300, 2k-16k tokens, fitted by
// validation/calibration/fit_attention.py); interpolated between 128 and 192, held beyond.
// FP8 and MXFP8 attention have their own, fitted alike on the same benchmark's FP8 runs: the
// 192-wide forward and backward, and the head dim 64 backward (GPT-OSS's shape, whose FP8
// backward computes the whole causal range); their head dim 64 forward is not measured (the
// benchmark's only such shape is a 128-key window, all fixed time): the BF16 ratio.
constexpr double ATTENTION_BACKWARD_RATE_AT_192 = 0.887;
struct HeadDimRates {
  double forward_64, backward_64, forward_192, backward_192;
};
constexpr HeadDimRates BF16_HEAD_DIM_RATES = {408.0 / 609.0, 417.0 / 499.0, 1, ATTENTION_BACKWARD_RATE_AT_192},
                       FP8_HEAD_DIM_RATES = {408.0 / 609.0, 0.604, 1.111, 1.250};
double head_dim_rate(int head_dim, bool backward, AttentionDtype dtype) {
  const HeadDimRates& r = dtype == AttentionDtype::BF16 ? BF16_HEAD_DIM_RATES : FP8_HEAD_DIM_RATES;
  if (head_dim > 128) return 1 + ((backward ? r.backward_192 : r.forward_192) - 1) * std::min(1.0, (head_dim - 128) / 64.0);
  const double at_64 = backward ? r.backward_64 : r.forward_64;
  if (head_dim <= 64) return at_64;
  return at_64 + (1 - at_64) * (head_dim - 64) / 64.0;
}
}  // namespace

// A fused attention kernel gives each tile of 128 queries its blocks of 128 keys one after
// another, and spends a fixed time per tile besides (loading the queries, the softmax's final
// scaling, writing the output; in backward, the dQ/dK/dV stores): ATTENTION_TILE_OVERHEAD_BLOCKS
// blocks' worth. A tile that sees few key blocks (short sequences, the causal mask's early
// rows, sliding windows, context-parallel chunks) runs at key_blocks / (key_blocks + 5) of the
// long-sequence rate. Fitted with the GPUs' long-sequence efficiencies on NVIDIA's cuDNN SDPA
// benchmark, head dim 128, causal and full masks, 2k-16k tokens on H200, GB200 and GB300
// (validation/calibration/fit_attention.py): 3.2 % rms; 5 is the best single value for all
// three GPUs and both directions (4.5-5.5 fit alike): ATTENTION_TILE_OVERHEAD_BLOCKS.
double CostModel::attention_core_s(double forward_flops, bool backward, int qk_head_dim, int v_head_dim,
                                   double key_blocks, AttentionDtype dtype) const {
  const double tile_share = key_blocks / (key_blocks + ATTENTION_TILE_OVERHEAD_BLOCKS);
  const double dtype_peak = dtype == AttentionDtype::BF16 ? cluster_.gpu.peak_bf16_flops : cluster_.gpu.peak_fp8_flops;
  const double rate = dtype_peak * head_dim_rate(qk_head_dim, backward, dtype) * tile_share * tensor_fraction_ *
                      cluster_.gpu.attention_efficiency(dtype, backward);
  if (!backward) return forward_flops / rate;
  return forward_flops * (3.0 * qk_head_dim + 2.0 * v_head_dim) / (qk_head_dim + v_head_dim) / rate;
}

double CostModel::bandwidth_Bps(LinkScope scope) const {
  return scope == LinkScope::INTRA_NODE ? cluster_.nvlink_payload_Bps() : cluster_.nic_payload_Bps();
}

double CostModel::latency_s(LinkScope scope) const {
  return scope == LinkScope::INTRA_NODE ? cluster_.nvlink_latency_s : cluster_.nic_latency_s;
}

namespace {

// NCCL's ring constants (src/graph/tuning.cc, ncclTunerConstantsDefaults, NCCL 2.2x), per
// protocol LL, LL128, Simple, in microseconds: the base latency of a ring collective, the hop
// latency of one step over NVLink and over the network (the tree's where one rank per node
// makes every hop a network one), and the host's network overhead per intra-node step of an
// inter-node ring (Intel x86: 1 us; 3x for Simple).
struct NcclProtocol {
  double base_us, nvlink_hop_us, net_ring_hop_us, net_tree_hop_us, net_overhead_us, bandwidth_share;
  bool ll_capped;  // its bus bandwidth is held under llMaxBws (LL's)
};
// LL's bus-bandwidth cap for rings over 2 and over more nodes, which NCCL takes by host CPU
// (llMaxBws; these are the rows of Intel and of any CPU not AMD's, Grace included; AMD hosts'
// are 22.5 and 19.0). Within one node the cap is the GPU generation's (GpuSpec).
constexpr double NCCL_LL_MAX_TWO_NODES_Bps = 39.0e9, NCCL_LL_MAX_MORE_NODES_Bps = 20.4e9;
constexpr NcclProtocol NCCL_RING_PROTOCOLS[] = {
    {6.6, 0.6, 2.7, 5.0, 1.0, 0.5, true},     // LL: 8-byte stores with a 4-byte flag each
    {14.0, 1.9, 4.0, 8.5, 1.0, 0.92, false},  // LL128: 120 of 128 bytes
    {8.4, 3.4, 14.0, 14.0, 3.0, 1.0, false},  // Simple
};

// The share of the link rate a protocol keeps: LL's half, held under NCCL's LL cap (the GPU
// generation's within one node, the host's over 2 and over more nodes).
double protocol_share(const NcclProtocol& p, const GpuSpec& gpu, int nodes, double rate_Bps) {
  const double cap_Bps = nodes == 1   ? gpu.nccl_ll_max_Bps
                        : nodes == 2 ? NCCL_LL_MAX_TWO_NODES_Bps
                                     : NCCL_LL_MAX_MORE_NODES_Bps;
  return p.ll_capped && cap_Bps > 0 ? std::min(p.bandwidth_share, cap_Bps / rate_Bps) : p.bandwidth_share;
}

}  // namespace

CostModel::RingPrices CostModel::ring_prices(int n, int nodes) const {
  RingPrices out;
  if (n <= 1) return out;
  nodes = std::clamp(nodes, 1, n);
  const double steps = 2.0 * (n - 1);
  out.ring_share = 2.0 * (n - 1) / n;
  const LinkScope scope = nodes > 1 ? LinkScope::INTER_NODE : LinkScope::INTRA_NODE;
  if (!cluster_.nccl_latencies) {  // one ring, each step at the scope's fitted latency and rate
    out.protocols = 1;
    out.latency_s[0] = steps * latency_s(scope);
    out.rate_Bps = bandwidth_Bps(scope);
    out.s_per_byte[0] = 1 / out.rate_Bps;
    return out;
  }
  // Each ring crosses into every node once; a node's crossings of all channels share its
  // members' NICs, so per_node members carry per_node times one NIC's rate (up to NVLink's).
  const int per_node = std::max(1, n / nodes);
  out.channels = nodes > 1 ? per_node : 1;
  out.rate_Bps = nodes == 1 ? cluster_.nvlink_payload_Bps()
                            : std::min(cluster_.nvlink_payload_Bps(), per_node * cluster_.nic_payload_Bps());
  const double inter_steps = nodes == 1 ? 0 : 2.0 * (nodes - 1);
  for (const NcclProtocol& p : NCCL_RING_PROTOCOLS) {
    const double intra_hop_us = nodes == 1 ? p.nvlink_hop_us : std::max(p.nvlink_hop_us, p.net_overhead_us);
    const double inter_hop_us = per_node > 1 ? p.net_ring_hop_us : p.net_tree_hop_us;
    out.latency_s[out.protocols] = 1e-6 * (p.base_us + (steps - inter_steps) * intra_hop_us + inter_steps * inter_hop_us);
    out.bandwidth_share[out.protocols] = protocol_share(p, cluster_.gpu, nodes, out.rate_Bps);
    out.s_per_byte[out.protocols] = 1 / (out.bandwidth_share[out.protocols] * out.rate_Bps);
    ++out.protocols;
  }
  if (nodes == 1 && cluster_.nccl_nvls && cluster_.gpu.nccl_nvls_efficiency > 0) add_nvls(out, n);
  return out;
}

// NVLS all-reduce within one NVLink domain: each GPU's 1/n share is read, reduced in the
// switch, from every GPU (multimem.ld_reduce), then written once and multicast to all
// (multimem.st). Each GPU's port carries its whole buffer plus 1/n of it each way, (1 + 1/n)
// bytes per byte against the ring's 2 (n-1)/n, at NCCL's NVLS efficiency of the payload rate
// (so 2 (n-1)/(n+1) x that efficiency of the ring's rate: 1.32x for 8 Hopper GPUs, never
// faster than the ring below 4). Its latency is NCCL's for NVLS over NVLink (tuning.cc
// hwLatencies, 25 us; no per-step term: the switch does the steps).
void CostModel::add_nvls(RingPrices& out, int n) const {
  constexpr double NCCL_NVLS_LATENCY_S = 25e-6;
  const int k = out.protocols++;
  out.latency_s[k] = NCCL_NVLS_LATENCY_S;
  out.bandwidth_share[k] = cluster_.gpu.nccl_nvls_efficiency * 2.0 * (n - 1) / (n + 1);
  out.s_per_byte[k] = 1 / (out.bandwidth_share[k] * out.rate_Bps);
}

double CostModel::nccl_alltoall_s(double bytes_per_rank, int n, int per_node) const {
  if (n <= 1) return 0;
  per_node = std::clamp(per_node, 1, n);
  const LinkScope scope = per_node >= n ? LinkScope::INTRA_NODE : LinkScope::INTER_NODE;
  const double leaving = bytes_per_rank * (n - 1) / n;
  if (!cluster_.nccl_latencies) return transfer_s(leaving, scope);
  const double rate_Bps = bandwidth_Bps(scope);
  const int nodes = (n + per_node - 1) / per_node;
  double best = std::numeric_limits<double>::infinity();
  for (const NcclProtocol& p : NCCL_RING_PROTOCOLS) {
    const double hops_us = (per_node - 1) * p.nvlink_hop_us + (n - per_node) * p.net_ring_hop_us;
    best = std::min(best, 1e-6 * (p.base_us + hops_us) + leaving / (protocol_share(p, cluster_.gpu, nodes, rate_Bps) * rate_Bps));
  }
  return best;
}

CostModel::RingAllReduce CostModel::ring_allreduce(double bytes, int n, int nodes) const {
  const RingPrices prices = ring_prices(n, nodes);
  RingAllReduce out;
  out.ring_bytes = prices.ring_share * bytes;
  out.rate_Bps = prices.rate_Bps;
  out.channels = prices.channels;
  if (prices.protocols == 0) return out;  // one GPU: nothing moves
  const int p = prices.fastest(bytes);
  out.latency_s = prices.latency_s[p];
  out.bandwidth_share = prices.bandwidth_share[p];
  return out;
}

}  // namespace moesim
