#include "models/cost_model.hpp"

#include <algorithm>
#include <cmath>

namespace moesim {

CostModel::CostModel(const ClusterSpec& cluster, Dtype compute_dtype)
    : cluster_(cluster),
      peak_flops_(cluster.gpu.peak_flops(compute_dtype)),
      flops_per_s_(peak_flops_ * (compute_dtype == Dtype::FP8 ? cluster.fp8_gemm_efficiency : cluster.gemm_efficiency)),
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
  const double operand_s = memory_bound_s((m * k + k * n + m * n) * operand_bytes_);
  return cluster_.gemm_overhead_s + std::max(compute_s, operand_s);
}

double CostModel::attention_core_s(double forward_flops, bool backward) const {
  const double peak = cluster_.gpu.peak_bf16_flops;
  return backward ? 2.5 * forward_flops / (peak * cluster_.attention_backward_efficiency)
                  : forward_flops / (peak * cluster_.attention_forward_efficiency);
}

double CostModel::bandwidth_Bps(LinkScope scope) const {
  return scope == LinkScope::INTRA_NODE ? cluster_.nvlink_payload_Bps() : cluster_.nic_payload_Bps();
}

double CostModel::latency_s(LinkScope scope) const {
  return scope == LinkScope::INTRA_NODE ? cluster_.nvlink_latency_s : cluster_.nic_latency_s;
}

double CostModel::ring_allreduce_s(double bytes, int n, LinkScope scope) const {
  if (n <= 1) return 0;
  return 2.0 * (n - 1) * latency_s(scope) + 2.0 * (n - 1) / n * bytes / bandwidth_Bps(scope);
}

}  // namespace moesim
