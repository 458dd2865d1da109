#pragma once
#include "hardware/cluster.hpp"
#include "models/model.hpp"
#include "models/parallel_plan.hpp"

namespace moesim {

// Bytes held by one GPU of the fullest pipeline stage at the peak of a 1F1B step.
struct MemoryBreakdown {
  double weights_bytes = 0;
  double gradients_bytes = 0;
  double optimizer_bytes = 0;
  double activations_bytes = 0;
  double a2a_buffer_bytes = 0;
  double total_bytes() const {
    return weights_bytes + gradients_bytes + optimizer_bytes + activations_bytes + a2a_buffer_bytes;
  }
};

// Parameters of one layer held by one GPU: dense ones (synchronised over the data-parallel
// group) and expert ones (over the expert-data-parallel group).
double layer_dense_params_per_gpu(const ModelSpec& model, const ParallelPlan& plan, int layer);
double layer_expert_params_per_gpu(const ModelSpec& model, const ParallelPlan& plan, int layer);
// The multi-token-prediction modules' parameters on a GPU of the last stage: each module's
// layer (like the model's last) and, dense, its projection of 2 d_model to d_model.
double mtp_dense_params_per_gpu(const ModelSpec& model, const ParallelPlan& plan);
double mtp_expert_params_per_gpu(const ModelSpec& model, const ParallelPlan& plan);
// Parameters held by one GPU of pipeline stage `stage`.
double stage_params_per_gpu(const ModelSpec& model, const ParallelPlan& plan, int stage);
// Of which expert parameters (synchronised over the expert-data-parallel group).
double stage_expert_params_per_gpu(const ModelSpec& model, const ParallelPlan& plan, int stage);

// max_expert_rows: the most token rows any GPU's experts receive in one micro-batch of one
// MoE layer (from routing), so that skewed routing shows up as activation memory.
MemoryBreakdown memory_per_gpu(const ModelSpec& model, const ParallelPlan& plan, double max_expert_rows);

}  // namespace moesim
