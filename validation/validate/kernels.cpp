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
