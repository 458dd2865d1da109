#include "sim/step_summary.hpp"

#include <algorithm>

namespace moesim {

namespace {

// Bytes on the wire per copy over one step: dispatch and combine forward, and the BF16
// gradients of both backward (as the step program sends them), for items of `width` values.
double copy_bytes_per_step(const ModelSpec& m, int width) {
  return (m.dispatch_bytes_per_token() + m.combine_bytes_per_token() + 2 * 2.0 * m.d_model) * width / m.d_model;
}

double layer_forward_flops_per_token(const ModelSpec& m, const ParallelPlan& p, int l) {
  const double mixing = m.mixing_projection_flops_per_token(l) + m.mixing_core_flops_per_token(l, p.seq_len);
  if (!m.is_moe_layer(l)) return mixing + 2.0 * m.dense_ffn_params();
  const ModelSpec::ExpertShape e = m.expert_shape(l);
  return mixing + 2.0 * (e.items_per_token * (m.top_k * e.params() + m.router_params(l)) + m.re_represent_params(l) +
                         m.shared_experts * m.expert_params());
}

double forward_flops_per_token(const ModelSpec& m, const ParallelPlan& p) {
  const double output_layer = 2.0 * m.d_model * m.vocab;
  double flops = output_layer;
  for (int l = 0; l < m.layers; ++l) flops += layer_forward_flops_per_token(m, p, l);
  // each MTP module: its projection (2 d -> d), a layer like the last, the output layer again
  const double projection = 2.0 * 2 * m.d_model * m.d_model;
  return flops + m.mtp_layers * (projection + layer_forward_flops_per_token(m, p, m.layers - 1) + output_layer);
}

void fill_breakdown(StepResult& r, const std::vector<GpuTimeline>& timelines) {
  size_t critical = 0;  // the first to end last
  for (size_t i = 0; i < timelines.size(); ++i)
    if (timelines[i].end_s > timelines[critical].end_s) critical = i;
  r.critical_gpu = timelines[critical].gpu;
  r.step_time_s = 0;
  for (size_t part = 0; part < PART_COUNT; ++part) {
    const double seconds = timelines[critical].part_s[part];
    r.breakdown_s.emplace_back(part_name(Part(part)), seconds);
    r.step_time_s += seconds;
  }
}

// Routing figures scaled to the step, and memory (which needs the hottest rank's rows).
void fill_load_and_memory(StepResult& r, const Scenario& s, const RoutedStep& routed) {
  const ModelSpec& m = s.model;
  const ParallelPlan& p = s.plan;
  // The routed sample is one EP group and `routed_micro_batches` micro-batches; a step has
  // edp groups per stage and `micro_batches` micro-batches.
  const double scale = double(p.edp()) * p.micro_batches / std::max(routed.routed_micro_batches, 1);
  double rank_ratio_sum = 0, max_rows = 0;
  int rank_ratio_count = 0;
  for (const LayerLoad& layer : routed.layers) {
    r.expert_load.push_back({layer.layer, layer.expert_tokens, layer.dropped, layer.max_over_mean});
    r.expert_max_over_mean += layer.max_over_mean / routed.layers.size();
    r.expert_worst_max_over_mean = std::max(r.expert_worst_max_over_mean, layer.max_over_mean);
    for (const MicroBatchLoad& mb : layer.micro_batches) {
      r.tokens_routed += mb.routed * scale;
      r.tokens_dropped += mb.dropped * scale;
      r.tokens_unrouted += mb.unrouted_tokens * scale;
      const double copy_bytes = copy_bytes_per_step(m, m.expert_shape(layer.layer).item_width);
      r.a2a_intra_node_bytes += mb.intra_copies * copy_bytes * mb.row_fraction * scale;
      r.a2a_inter_node_bytes += mb.inter_copies * copy_bytes * mb.row_fraction * scale;
      max_rows = std::max(max_rows, mb.most_rank_rows);
      if (mb.mean_rank_rows > 0) rank_ratio_sum += mb.most_rank_rows / mb.mean_rank_rows, ++rank_ratio_count;
    }
  }
  r.rank_max_over_mean = rank_ratio_count ? rank_ratio_sum / rank_ratio_count : 0;
  const double assignments = r.tokens_routed + r.tokens_dropped;
  r.drop_rate = assignments > 0 ? r.tokens_dropped / assignments : 0;
  r.memory = memory_per_gpu(m, p, max_rows);
  r.hbm_bytes = s.cluster.gpu.hbm_bytes;
  r.fits_memory = r.memory.total_bytes() <= r.hbm_bytes;
}

}  // namespace

StepResult summarize_step(const Scenario& s, const RoutedStep& routed, const std::vector<GpuTimeline>& timelines,
                          std::vector<LayerStraggler> stragglers) {
  StepResult r;
  r.engine = s.sim.engine;
  fill_breakdown(r, timelines);
  r.stragglers = std::move(stragglers);
  fill_load_and_memory(r, s, routed);
  const double peak_flops = s.cluster.gpu.peak_flops(s.model.compute_dtype);
  r.model_flops_per_step = 3 * forward_flops_per_token(s.model, s.plan) * s.plan.tokens_per_step();
  r.mfu = r.model_flops_per_step / (r.step_time_s * s.plan.world() * peak_flops);
  r.tokens_per_s = s.plan.tokens_per_step() / r.step_time_s;
  return r;
}

}  // namespace moesim
