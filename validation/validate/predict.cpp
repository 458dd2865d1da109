#include "validation/validate/predict.hpp"

#include <algorithm>
#include <cctype>

#include "hardware/input_error.hpp"

namespace moesim::validation {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// The cluster preset of each GPU name the dataset uses.
const char* cluster_preset_of(const std::string& gpu) {
  static const std::vector<std::pair<std::string, const char*>> presets = {
      {"h100", "dgx-h100"}, {"h800", "hgx-h800"}, {"h200", "hgx-h200"}, {"h20", "hgx-h20"}, {"a100", "dgx-a100"}, {"b200", "dgx-b200"},
      {"b300", "dgx-b300"}, {"gb200", "gb200-nvl72"}, {"gb300", "gb300-nvl72"}, {"mi300x", "mi300x-node"}};
  for (const auto& [name, preset] : presets)
    if (lower(gpu) == name) return preset;
  return nullptr;
}

// NVL72 points state their trays (nodes of 4 GPUs), but moesim's node is the NVLink domain:
// the rack. A job of up to 72 GPUs is one domain; a larger one takes 64 GPUs per rack, as
// Megatron-Bridge's GB200 recipes lay ranks out (NUM_OF_HYBRID_EP_RANKS_PER_NVLINK_DOMAIN=64,
// perf_recipes/deepseek/gb200/deepseek_v3.py).
bool nvlink_domains(ClusterSpec& c, std::string& reason) {
  const int gpus = c.nodes * c.gpus_per_node;
  constexpr int RACK = 72, RANKS_PER_RACK = 64;
  const int domain = gpus <= RACK ? gpus : (gpus % RANKS_PER_RACK == 0 ? RANKS_PER_RACK : 0);
  if (domain == 0) {
    reason = "an NVL72 job of " + std::to_string(gpus) + " GPUs fills no whole number of 64-GPU racks";
    return false;
  }
  c.gpus_per_node = domain;
  c.nodes = gpus / domain;
  return true;
}

}  // namespace

Dtype compute_dtype_of(const std::string& text) {
  return lower(text).find("fp8") != std::string::npos ? Dtype::FP8 : Dtype::BF16;
}

std::optional<ClusterSpec> point_cluster(const ValidationPoint& p, const PredictContext& ctx, std::string& reason) {
  const char* preset = cluster_preset_of(p.cluster.gpu);
  if (!preset) {
    reason = "no GPU preset for " + (p.cluster.gpu.empty() ? std::string("an unstated GPU") : p.cluster.gpu);
    return std::nullopt;
  }
  ClusterSpec c = *cluster_presets().find(preset);
  if (p.cluster.nodes > 0) c.nodes = p.cluster.nodes;
  if (p.cluster.gpus_per_node > 0) c.gpus_per_node = p.cluster.gpus_per_node;
  if (lower(p.cluster.intra_node_kind) == "nvl72" && !nvlink_domains(c, reason)) return std::nullopt;
  if (p.cluster.intra_node_Bps) c.nvlink_Bps = *p.cluster.intra_node_Bps;
  if (p.cluster.nic_Bps) c.nic_Bps = *p.cluster.nic_Bps;
  if (ctx.profile && ctx.profile->gpu_preset == c.gpu.name) c = apply_profile(c, *ctx.profile, ctx.profile_source);
  return c;
}

Prediction in_metric(const ValidationPoint& p, double time_s, double work, std::string note) {
  Prediction out{true, "", time_s, 0, std::move(note)};
  const std::string& m = p.metric.name;
  if (m == "time_us") out.metric = time_s * 1e6;
  else if (m == "tflops" || m == "tflops_per_gpu") out.metric = work / time_s / 1e12;
  else if (m == "bandwidth_GBps" || m == "busbw_GBps") out.metric = work / time_s / 1e9;
  else if (m == "bandwidth_TBps") out.metric = work / time_s / 1e12;
  else if (m == "tokens_per_s_per_gpu") out.metric = work / time_s;
  else return unsupported("metric " + m + " has no conversion");
  return out;
}

Prediction predict(const ValidationPoint& p, const PredictContext& ctx) {
  const Predictor* predictor = predictors().find(p.op);
  if (!predictor) return unsupported("no model for op " + p.op);
  return (*predictor)(p, ctx);
}

}  // namespace moesim::validation
