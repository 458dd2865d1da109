#include "sim/estimator.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace moesim {

namespace {

// Backward passes move gradients in BF16 and cost twice the forward FLOPs.
constexpr double GRADIENT_WIRE_BYTES = 2;
constexpr double BACKWARD_FLOP_FACTOR = 2;
// Gradients are reduced in FP32 (as the 18 bytes/parameter memory accounting assumes).
constexpr double GRADIENT_REDUCE_BYTES = 4;
// Adam step per parameter: reads FP32 weight, gradient, two moments (16 B); writes FP32
// weight, two moments and the BF16 copy (14 B).
constexpr double OPTIMIZER_HBM_BYTES_PER_PARAM = 30;

// Time of one layer for one micro-batch on one GPU, forward and backward together.
struct LayerTimes {
  double attention = 0, dense_ffn = 0, expert_compute = 0, straggler_wait = 0, dispatch = 0, combine = 0, tp_comm = 0;
  double total() const { return attention + dense_ffn + expert_compute + straggler_wait + dispatch + combine + tp_comm; }
  LayerTimes& operator+=(const LayerTimes& o) {
    attention += o.attention, dense_ffn += o.dense_ffn, expert_compute += o.expert_compute;
    straggler_wait += o.straggler_wait, dispatch += o.dispatch, combine += o.combine, tp_comm += o.tp_comm;
    return *this;
  }
  LayerTimes scaled(double f) const {
    return {attention * f, dense_ffn * f, expert_compute * f, straggler_wait * f, dispatch * f, combine * f, tp_comm * f};
  }
};

class StepEstimator {
 public:
  StepEstimator(const Scenario& s, const Topology& topology, const RoutedStep& routed)
      : s_(s), m_(s.model), p_(s.plan), topology_(topology), routed_(routed), cost_(s.cluster, s.model.compute_dtype) {
    tokens_full_ = double(p_.micro_batch_size) * p_.seq_len;  // per TP group per micro-batch
    tp_scope_ = p_.tp <= s.cluster.gpus_per_node ? LinkScope::INTRA_NODE : LinkScope::INTER_NODE;
    dp_scope_ = p_.gpus_per_stage() <= s.cluster.gpus_per_node ? LinkScope::INTRA_NODE : LinkScope::INTER_NODE;
    for (const LayerLoad& l : routed.layers) moe_layer_times_.push_back(moe_layer_times(l));
  }

  StepResult run() const {
    StepResult r;
    // The slowest pipeline stage sets the pace of 1F1B.
    LayerTimes slowest;
    for (int stage = 0; stage < p_.pp; ++stage) {
      LayerTimes t = stage_times(stage);
      if (t.total() > slowest.total()) slowest = t;
    }
    const LayerTimes steady = slowest.scaled(p_.micro_batches);
    const double bubble = (p_.pp - 1) * slowest.total();
    double grad_sync = 0, optimizer = 0;
    for (int stage = 0; stage < p_.pp; ++stage) {
      grad_sync = std::max(grad_sync, grad_sync_s(stage));
      optimizer = std::max(optimizer, cost_.memory_bound_s(stage_params_per_gpu(m_, p_, stage) * OPTIMIZER_HBM_BYTES_PER_PARAM));
    }
    r.breakdown_s = {{"attention", steady.attention},
                     {"dense_ffn", steady.dense_ffn},
                     {"expert_compute", steady.expert_compute},
                     {"straggler_wait", steady.straggler_wait},
                     {"dispatch", steady.dispatch},
                     {"combine", steady.combine},
                     {"tp_comm", steady.tp_comm},
                     {"pipeline_bubble", bubble},
                     {"grad_sync", grad_sync},
                     {"optimizer", optimizer}};
    for (const auto& [name, seconds] : r.breakdown_s) r.step_time_s += seconds;
    fill_load_and_memory(r);
    r.model_flops_per_step = 3 * forward_flops_per_token() * p_.tokens_per_step();
    r.mfu = r.model_flops_per_step / (r.step_time_s * p_.world() * cost_.peak_flops());
    r.tokens_per_s = p_.tokens_per_step() / r.step_time_s;
    return r;
  }

 private:
  LayerTimes stage_times(int stage) const {
    LayerTimes t;
    size_t moe_index = 0;
    for (int l = 0; l < m_.layers; ++l) {
      const bool moe = m_.is_moe_layer(l);
      const bool in_stage = l >= p_.first_layer(stage, m_.layers) && l < p_.first_layer(stage + 1, m_.layers);
      if (in_stage) t += moe ? moe_layer_times_[moe_index] : dense_layer_times();
      moe_index += moe;
    }
    if (stage == p_.pp - 1) t.dense_ffn += (1 + BACKWARD_FLOP_FACTOR) * cost_.gemm_s(tokens_full_, double(m_.vocab) / p_.tp, m_.d_model);
    return t;
  }

  LayerTimes common_layer_times() const {
    LayerTimes t;
    const double fwd_attention = cost_.flops_s(m_.attention_flops_per_token(p_.seq_len) * tokens_full_ / p_.tp);
    t.attention = (1 + BACKWARD_FLOP_FACTOR) * fwd_attention;
    // Megatron TP: one all-reduce after attention and one after the MLP, forward and backward.
    // Activations travel in BF16 even when the GEMMs run in FP8.
    t.tp_comm = 4 * cost_.ring_allreduce_s(tokens_full_ * m_.d_model * bytes_per_element(Dtype::BF16), p_.tp, tp_scope_);
    return t;
  }

  double ffn_s(double rows, double width) const { return m_.ffn_matrices() * cost_.gemm_s(rows, width, m_.d_model); }

  LayerTimes dense_layer_times() const {
    LayerTimes t = common_layer_times();
    t.dense_ffn = (1 + BACKWARD_FLOP_FACTOR) * ffn_s(tokens_full_, double(m_.d_ffn_dense) / p_.tp);
    return t;
  }

  LayerTimes moe_layer_times(const LayerLoad& layer) const {
    LayerTimes t = common_layer_times();
    const double gate = cost_.gemm_s(routed_.tokens_per_gpu, m_.experts, m_.d_model);
    const double shared = m_.shared_experts ? ffn_s(tokens_full_, double(m_.shared_experts) * m_.d_ffn_expert / p_.tp) : 0;
    t.dense_ffn = (1 + BACKWARD_FLOP_FACTOR) * (gate + shared);
    // Average the routed micro-batches: each contributes its slowest GPU.
    LayerTimes moe;
    for (const MicroBatchLoad& mb : layer.micro_batches) moe += expert_and_a2a_times(mb);
    t += moe.scaled(1.0 / layer.micro_batches.size());
    return t;
  }

  LayerTimes expert_and_a2a_times(const MicroBatchLoad& mb) const {
    const EpGroupLayout& g = routed_.group;
    // gemm_s is linear in tile-padded rows for a fixed expert shape, so a rank's expert GEMMs
    // cost its experts' padded rows times the time of one row.
    const double tile = s_.cluster.gemm_tile_rows;
    const double row_s = ffn_s(tile, double(m_.d_ffn_expert) / p_.etp) / tile;
    // Permute before and unpermute after the expert GEMMs: read and write each row.
    const double permute_row_s = cost_.memory_bound_s(2 * 2 * m_.d_model * bytes_per_element(Dtype::BF16));
    double max_rank = 0, sum_rank = 0;
    for (int rank = 0; rank < g.ep; ++rank) {
      const double seconds = mb.rank_padded_rows[rank] * row_s + mb.rank_rows[rank] * permute_row_s;
      max_rank = std::max(max_rank, seconds);
      sum_rank += seconds;
    }
    LayerTimes t;
    const double factor = 1 + BACKWARD_FLOP_FACTOR;
    t.expert_compute = factor * sum_rank / g.ep;
    t.straggler_wait = factor * (max_rank - sum_rank / g.ep);
    const double grad_bytes = GRADIENT_WIRE_BYTES * m_.d_model;
    // Forward dispatch and backward combine-gradient both go token owner -> expert.
    const ClusterSpec& c = s_.cluster;
    t.dispatch = mb.to_experts.time_s(m_.dispatch_bytes_per_token(), c) + mb.to_experts.time_s(grad_bytes, c);
    t.combine = mb.to_owners.time_s(m_.combine_bytes_per_token(), c) + mb.to_owners.time_s(grad_bytes, c);
    return t;
  }

  double grad_sync_s(int stage) const {
    const double expert = stage_expert_params_per_gpu(m_, p_, stage);
    const double dense = stage_params_per_gpu(m_, p_, stage) - expert;
    return cost_.ring_allreduce_s(dense * GRADIENT_REDUCE_BYTES, p_.dp, dp_scope_) +
           cost_.ring_allreduce_s(expert * GRADIENT_REDUCE_BYTES, p_.edp(), dp_scope_);
  }

  double forward_flops_per_token() const {
    double flops = 2.0 * m_.d_model * m_.vocab;  // output layer
    for (int l = 0; l < m_.layers; ++l) {
      flops += m_.attention_flops_per_token(p_.seq_len);
      flops += m_.is_moe_layer(l)
                   ? 2.0 * ((m_.top_k + m_.shared_experts) * m_.expert_params() + double(m_.d_model) * m_.experts)
                   : 2.0 * m_.dense_ffn_params();
    }
    return flops;
  }

  // Routing figures scaled to the step, and memory (which needs the hottest rank's rows).
  void fill_load_and_memory(StepResult& r) const {
    // The routed sample is one EP group and `routed_micro_batches` micro-batches; a step has
    // edp groups per stage and `micro_batches` micro-batches.
    const double scale = double(p_.edp()) * p_.micro_batches / std::max(routed_.routed_micro_batches, 1);
    const double copy_bytes = m_.dispatch_bytes_per_token() + m_.combine_bytes_per_token() + 2 * GRADIENT_WIRE_BYTES * m_.d_model;
    double rank_ratio_sum = 0, max_rows = 0;
    int rank_ratio_count = 0;
    for (const LayerLoad& layer : routed_.layers) {
      r.expert_load.push_back({layer.layer, layer.expert_tokens, layer.dropped, layer.max_over_mean});
      r.expert_max_over_mean += layer.max_over_mean / routed_.layers.size();
      r.expert_worst_max_over_mean = std::max(r.expert_worst_max_over_mean, layer.max_over_mean);
      for (const MicroBatchLoad& mb : layer.micro_batches) {
        r.tokens_routed += mb.routed * scale;
        r.tokens_dropped += mb.dropped * scale;
        r.a2a_intra_node_bytes += mb.intra_copies * copy_bytes * scale;
        r.a2a_inter_node_bytes += mb.inter_copies * copy_bytes * scale;
        const double most = *std::max_element(mb.rank_rows.begin(), mb.rank_rows.end());
        const double total = std::accumulate(mb.rank_rows.begin(), mb.rank_rows.end(), 0.0);
        max_rows = std::max(max_rows, most);
        if (total > 0) rank_ratio_sum += most / (total / mb.rank_rows.size()), ++rank_ratio_count;
      }
    }
    r.rank_max_over_mean = rank_ratio_count ? rank_ratio_sum / rank_ratio_count : 0;
    const double assignments = r.tokens_routed + r.tokens_dropped;
    r.drop_rate = assignments > 0 ? r.tokens_dropped / assignments : 0;
    r.memory = memory_per_gpu(m_, p_, max_rows);
    r.hbm_bytes = s_.cluster.gpu.hbm_bytes;
    r.fits_memory = r.memory.total_bytes() <= r.hbm_bytes;
  }

  const Scenario& s_;
  const ModelSpec& m_;
  const ParallelPlan& p_;
  const Topology& topology_;
  const RoutedStep& routed_;
  CostModel cost_;
  double tokens_full_ = 0;
  LinkScope tp_scope_, dp_scope_;
  std::vector<LayerTimes> moe_layer_times_;
};

}  // namespace

StepResult estimate_step(const Scenario& scenario, const Topology& topology, const RoutedStep& routed) {
  return StepEstimator(scenario, topology, routed).run();
}

}  // namespace moesim
