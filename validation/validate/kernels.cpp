// Single-GPU kernels: GEMM, grouped GEMM, memory bandwidth.
#include "validation/validate/predict.hpp"

namespace moesim::validation {

Prediction predict_gemm(const ValidationPoint& p, const PredictContext& ctx) {
  std::string reason;
  const auto cluster = point_cluster(p, ctx, reason);
  if (!cluster) return unsupported(reason);
  const CostModel cost(*cluster, compute_dtype_of(p.params.text("dtype")));
  const double m = p.params.positive("m"), n = p.params.positive("n"), k = p.params.positive("k");
  return in_metric(p, cost.gemm_s(m, n, k), 2 * m * n * k);
}

// A grouped GEMM is one kernel over the groups' tiles: the groups' GEMM times with one launch.
Prediction predict_grouped_gemm(const ValidationPoint& p, const PredictContext& ctx) {
  std::string reason;
  const auto cluster = point_cluster(p, ctx, reason);
  if (!cluster) return unsupported(reason);
  const CostModel cost(*cluster, compute_dtype_of(p.params.text("dtype")));
  const double g = p.params.positive("groups"), m = p.params.positive("m_per_group");
  const double n = p.params.positive("n"), k = p.params.positive("k");
  const double t = g * cost.gemm_s(m, n, k) - (g - 1) * cluster->gemm_overhead_s;
  return in_metric(p, t, 2 * g * m * n * k);
}

// One fused attention kernel (batch x q_heads sequences, self-attention) at the GPU's kernel
// rate: moesim's FLOPs over the keys each query tile computes (all of them, or causal: half,
// or the sliding window and its diagonal block) through CostModel::attention_core_s in the
// point's precision (bf16, fp8 or mxfp8), in the point's metric with the benchmark's own FLOP
// count (masked-in pairs).
Prediction predict_attention(const ValidationPoint& p, const PredictContext& ctx) {
  std::string reason;
  const auto cluster = point_cluster(p, ctx, reason);
  if (!cluster) return unsupported(reason);
  const auto dtype = parse_attention_dtype(p.params.text("dtype"));
  if (!dtype) return unsupported("attention dtype " + p.params.text("dtype") + " is not modeled (bf16, fp8, mxfp8)");
  if (cluster->gpu.attention_efficiency(*dtype, false) <= 0)
    return unsupported("no " + p.params.text("dtype") + " attention rates for " + cluster->gpu.name);
  const double s = p.params.positive("q_seqlen");
  if (p.params.positive("kv_seqlen") != s) return unsupported("cross-attention (q_seqlen != kv_seqlen) is not modeled");
  const std::string mask = p.params.text("mask");
  if (mask != "causal" && mask != "none") return unsupported("mask " + mask + " is not modeled (causal or none)");
  const bool causal = mask == "causal", backward = p.params.text("direction") == "bwd";
  const double w = causal ? p.params.number("sliding_window") : 0;
  const double sequences = p.params.positive("batch") * p.params.positive("q_heads");
  const double dqk = p.params.positive("head_dim_qk"), dvo = p.params.positive("head_dim_vo");
  const double computed_window = CostModel::attention_skips_window(backward, *dtype) ? w : 0;
  const double computed_keys = causal ? CostModel::causal_computed_keys(s, computed_window) : s;
  const double forward_flops = 2 * sequences * s * computed_keys * (dqk + dvo);
  const double t = CostModel(*cluster, Dtype::BF16)
                       .attention_core_s(forward_flops, backward, int(dqk), int(dvo), computed_keys / ATTENTION_KEY_BLOCK, *dtype);
  // The benchmark's count: (query, key) pairs inside the mask.
  const double pairs = !causal ? s * s : w > 0 && w < s ? w * (w + 1) / 2 + (s - w) * w : s * (s + 1) / 2;
  const double work = 2 * sequences * pairs * (backward ? 3 * dqk + 2 * dvo : dqk + dvo);
  return in_metric(p, t, work);
}

// Streaming kernels on large arrays run at the modeled HBM rate; copies between GPUs at the
// NVLink rate. Host transfers (PCIe) are not modeled.
Prediction predict_memcpy(const ValidationPoint& p, const PredictContext& ctx) {
  std::string reason;
  const auto cluster = point_cluster(p, ctx, reason);
  if (!cluster) return unsupported(reason);
  const std::string direction = p.params.text("direction");
  const double bytes = 1e9;  // array sizes are not stated: a large array, where overheads vanish
  if (direction.find("host") != std::string::npos) return unsupported("host-device (PCIe) copies are not modeled");
  if (direction.find("device_to_device") != std::string::npos)
    return in_metric(p, bytes / cluster->nvlink_Bps, bytes, "NVLink rate, one direction");
  const CostModel cost(*cluster, Dtype::BF16);
  return in_metric(p, cost.memory_bound_s(bytes), bytes, "modeled HBM streaming rate");
}

}  // namespace moesim::validation
