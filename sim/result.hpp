#pragma once
#include <string>
#include <utility>
#include <vector>

#include "models/memory_model.hpp"
#include "sim/timeline.hpp"

namespace moesim {

// Named parts of the step time, in a fixed order; they sum to the step time.
using Breakdown = std::vector<std::pair<std::string, double>>;

struct LayerExpertLoad {
  int layer = 0;
  std::vector<long> tokens;  // accepted assignments per expert, summed over the routed sample
  long dropped = 0;
  double max_over_mean = 0;
};

// Traffic through one link of the modeled fabric over the step (discrete-event engine).
struct LinkUsage {
  std::string name;
  double bandwidth_Bps = 0;
  double mean_utilization = 0;  // bytes carried / (bandwidth x step time)
  double peak_utilization = 0;  // highest instantaneous load / bandwidth
};

struct StepResult {
  std::string engine;  // analytic | des
  double step_time_s = 0;
  Breakdown breakdown_s;  // the time of the GPU that finished last (critical_gpu)
  int critical_gpu = 0;
  std::vector<LayerStraggler> stragglers;  // per MoE layer
  // Per step, cluster-wide, summed over MoE layers: (token, choice) assignments.
  double tokens_routed = 0;
  double tokens_dropped = 0;
  double tokens_unrouted = 0;  // tokens that reached no expert (all choices dropped, or chosen by none)
  double drop_rate = 0;
  // Expert load over the routed sample.
  std::vector<LayerExpertLoad> expert_load;
  double expert_max_over_mean = 0;        // mean over MoE layers of max/mean expert load
  double expert_worst_max_over_mean = 0;  // the worst layer's
  double rank_max_over_mean = 0;          // GPU rows: mean over layers and micro-batches of max/mean
  // Bytes moved by dispatch and combine (forward and backward) in one step, cluster-wide.
  double a2a_intra_node_bytes = 0;
  double a2a_inter_node_bytes = 0;
  MemoryBreakdown memory;
  double hbm_bytes = 0;
  bool fits_memory = false;
  double model_flops_per_step = 0;
  double mfu = 0;
  double tokens_per_s = 0;
  std::vector<LinkUsage> links;  // discrete-event engine only, links that carried traffic
};

}  // namespace moesim
