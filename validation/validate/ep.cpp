// Expert-parallel dispatch and combine kernels (models/ep_comm): DeepEP and its relatives.
#include "models/ep_comm/ep_comm.hpp"
#include "validation/validate/predict.hpp"

namespace moesim::validation {

namespace {

// The library model of an implementation name in the dataset.
const char* library_of(const std::string& implementation) {
  if (implementation == "deepep_normal") return "deepep_normal";
  if (implementation == "deepep_v2") return "deepep_v2";
  if (implementation == "hybrid_ep") return "hybrid_ep";
  if (implementation == "deepep_ll") return "deepep_ll";
  if (implementation == "nccl_ep_ll") return "nccl_ep_ll";
  return nullptr;
}

}  // namespace

Prediction predict_ep(const ValidationPoint& p, const PredictContext& ctx) {
  std::string reason;
  const auto cluster = point_cluster(p, ctx, reason);
  if (!cluster) return unsupported(reason);
  const std::string impl = p.params.text("implementation");
  const char* library = library_of(impl);
  if (!library) return unsupported("no model of EP library " + impl);
  EpKernel k;
  constexpr int MAX = 1 << 20;
  k.ep_size = p.params.whole("ep_size", 1, MAX);
  k.tokens_per_rank = p.params.whole("tokens_per_rank", 1, MAX);
  k.experts = p.params.whole("experts", k.ep_size, MAX);
  k.top_k = p.params.whole("top_k", 1, k.experts);
  k.bytes_per_token = p.params.positive("bytes_per_token", 1e9);
  if (p.params.has("max_nodes_per_token")) k.max_nodes_per_token = p.params.whole("max_nodes_per_token", 1, MAX);
  if (p.params.has("sms_used")) k.sms = p.params.whole("sms_used", 1, MAX);
  k.combine = p.op == "ep_combine";
  k.through_torch_api = p.params.has("measurement_scope") && p.params.text("measurement_scope") == "torch_api";
  const EpLibrary& lib = *ep_libraries().find(library);
  const double t = ep_kernel_s(lib, k, *cluster);
  const EpTraffic traffic = ep_traffic(lib, k, *cluster);
  // Each library's bandwidth byte count (shared/validation/README.md): DeepEP normal counts
  // unique (token, node) pairs across nodes ("RDMA"), unique (token, rank) pairs inside one
  // node ("NVL"); the low-latency kernels count every (token, expert) selection.
  const bool one_node = k.ep_size <= cluster->gpus_per_node;
  double pairs = traffic.token_experts;
  std::string note = "(token, expert) selections";
  if (lib.per_node_dedup) {
    pairs = one_node ? traffic.token_ranks : traffic.token_nodes;
    note = one_node ? "unique (token, rank) pairs" : "unique (token, node) pairs";
  }
  return in_metric(p, t, pairs * k.bytes_per_token, note);
}

}  // namespace moesim::validation
