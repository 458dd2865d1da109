#pragma once
#include <optional>
#include <vector>

#include "models/cost_model.hpp"
#include "validation/calibration/kernel_cases.hpp"

namespace moesim::calibration {

// One MoE layer's forward pass on `ranks` CPU processes (moesim-mpi-bench layer): every rank
// routes its `load.tokens` tokens with moesim's score source (its own tokens, the layer's
// shared expert popularity), drops the copies beyond each expert's capacity (per source rank,
// GShard's local capacity: ceil(capacity_factor x tokens x top_k / experts)), permutes, sends
// rows to the ranks of their experts (all-to-all-v), runs its experts' FFNs, sends the rows
// back and combines them per token. Received rows are regrouped by expert (and back) around
// the expert GEMMs, as Megatron's chunk sort does.
struct MpiLayerCase {
  ExpertLoadCase load;                     // per rank; experts are split evenly over ranks
  int ranks = 2;
  std::optional<double> capacity_factor;  // none: dropless
};

// What every rank does, decided before anything runs (the program and the prediction share it).
struct MpiLayerPlan {
  int experts_per_rank = 0;
  std::vector<std::vector<int32_t>> kept;   // [rank][copy]: expert of the copy, or -1 if dropped
  std::vector<std::vector<double>> rows_to; // [source rank][destination rank]: rows sent
  std::vector<std::vector<int>> expert_rows;// [rank][local expert]: rows it computes
  double dropped = 0, routed = 0;          // copies
};
MpiLayerPlan plan_mpi_layer(const MpiLayerCase& c);

// The cost model's time of the layer, phase by phase: each phase ends when its slowest rank
// does (the all-to-alls synchronise), element size 4 bytes (fp32).
struct MpiLayerTimes {
  double permute_s = 0, dispatch_s = 0, experts_s = 0, combine_a2a_s = 0, combine_s = 0;
  double total_s() const { return permute_s + dispatch_s + experts_s + combine_a2a_s + combine_s; }
};
MpiLayerTimes predict_mpi_layer(const MpiLayerCase& c, const MpiLayerPlan& plan, const CostModel& cost);

}  // namespace moesim::calibration
