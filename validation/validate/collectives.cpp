// NCCL collectives as nccl-tests times them.
#include "validation/validate/predict.hpp"

namespace moesim::validation {

namespace {

constexpr double LARGE_BYTES = 1 << 30;  // "large message" statements: bus bandwidth at 1 GiB

}  // namespace

// NCCL all-to-all: every rank sends (n-1) messages (CostModel::nccl_alltoall_s: NCCL's base
// latency, one hop per peer, the bytes through the rank's port). busbw = size / time x
// (n-1)/n, size = bytes per rank.
Prediction predict_alltoall(const ValidationPoint& p, const PredictContext& ctx) {
  const std::string impl = p.params.has("implementation") ? p.params.text("implementation") : "nccl";
  if (impl != "nccl" && impl != "nccl_alltoall") return unsupported("no model of all-to-all implementation " + impl);
  std::string reason;
  const auto cluster = point_cluster(p, ctx, reason);
  if (!cluster) return unsupported(reason);
  const int n = p.params.whole("ranks", 2, 1 << 20);
  const CostModel cost(*cluster, Dtype::BF16);
  const double size = p.params.has("msg_bytes_per_pair") ? p.params.positive("msg_bytes_per_pair") * n : LARGE_BYTES;
  const double t = cost.nccl_alltoall_s(size, n, std::min(n, cluster->gpus_per_node));
  return in_metric(p, t, size * (n - 1) / n);
}

// Ring all-reduce: 2(n-1) steps, 2(n-1)/n of the bytes through each port.
Prediction predict_allreduce(const ValidationPoint& p, const PredictContext& ctx) {
  std::string reason;
  const auto cluster = point_cluster(p, ctx, reason);
  if (!cluster) return unsupported(reason);
  const int n = p.params.whole("ranks", 2, 1 << 20);
  const double size = p.params.has("msg_bytes") ? p.params.positive("msg_bytes") : LARGE_BYTES;
  const CostModel cost(*cluster, Dtype::BF16);
  const double t = cost.ring_allreduce_s(size, n, (n + cluster->gpus_per_node - 1) / cluster->gpus_per_node);
  return in_metric(p, t, size * 2.0 * (n - 1) / n);
}

}  // namespace moesim::validation
