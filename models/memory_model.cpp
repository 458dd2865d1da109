// Memory per GPU. Mixed-precision Adam without a distributed optimizer keeps 18 bytes per
// parameter: BF16 weights (2), FP32 gradients (4), FP32 master weights and two Adam moments
// (12); with it, 6 + 12/d, the 12 sharded over the d data-parallel ranks that hold the same
// parameters (Megatron-LM docs, "Distributed Optimizer", bytes-per-parameter table). With
// BF16 gradients (ParallelPlan::gradient_dtype) the buffer holds 2 bytes per parameter; the
// optimizer's FP32 copy of its gradient shard lives only during the optimizer step, when the
// activations are freed, so it is not part of the peak counted here.
// Activations follow Korthikanti et al., "Reducing Activation Recomputation in Large
// Transformer Models" (2022), per layer and token in BF16, with flash attention (no s^2
// score tensors) and sequence parallelism (everything divided by tp): attention block 11 h
// plus 4 h for the two layer norms; an FFN of width f keeps its input (2 h) and its hidden
// activations (gated: 2 x 2 f before and 2 f after the activation; plain: 2 f + 2 f).
// FP8 recipes keep each linear layer's input for its weight gradient as the FP8 cast its GEMM
// read (Transformer Engine's Linear, LayerNormLinear and GroupedLinear save the quantized
// input): one byte per element for the QKV and output projections' inputs, the FFN's input
// and its activation output; what attention and the activation function keep stays BF16.
// Selective recomputation (ParallelPlan::recompute_modules) frees what it recomputes: layernorm
// the norms' outputs (the QKV projection's saved input and the FFN's or MoE block's input),
// moe_act the experts' activation output, mlp a dense FFN's hidden values, shared_experts theirs.
// core_attn and mla_up_proj free tensors this count does not hold apart (flash attention keeps
// no score matrix; MLA's up-projected heads are not in Korthikanti's 11 h): no change.
#include "models/memory_model.hpp"

#include <algorithm>

namespace moesim {

namespace {
constexpr double WEIGHT_BYTES = 2, OPTIMIZER_BYTES = 12, LOSS_SOFTMAX_BYTES = 4;

// Activation coefficients below are bytes per token (BF16 elements already counted twice).

// Bytes per element of a saved linear-layer input.
double linear_input_bytes(const ModelSpec& m) { return m.compute_dtype == Dtype::FP8 ? 1.0 : 2.0; }

// An FFN's hidden activations per row: what the activation function keeps (BF16), then its
// output, the second GEMM's input.
double ffn_hidden_bytes(const ModelSpec& m, double width) {
  return ((m.gated_ffn ? 4.0 : 2.0) + linear_input_bytes(m)) * width;
}
// The attention block and its norms per token: 11 h, of which the QKV and output projections'
// inputs are 2 h each in BF16, plus 4 h for the two layer norms.
double attention_block_bytes(const ModelSpec& m) { return 11.0 + 2 * linear_input_bytes(m); }

// Micro-batches whose activations a stage holds at its peak, in whole-stage units. 1F1B:
// stage s runs pp - s forwards before its first backward. Interleaved (Narayanan et al.,
// "Efficient Large-Scale Language Model Training on GPU Clusters Using Megatron-LM", 2021,
// and Megatron-Core's schedule): 2 (pp - s - 1) + (vp - 1) pp warm-up chunks plus the
// steady state's one, each chunk 1/vp of the stage. The combined order (overlap_ep_comm) runs
// one forward more in the interleaved warm-up (Megatron-Core's get_pp_rank_microbatches: "one
// extra micro-batch forward step before the 1f1b stages"): one chunk more. Without a pipeline
// it warms up with nothing but the first forward (combined_1f1b_schedule_for_no_pipelining).
// Either way a pair runs forward layer i beside backward layer L-1-i, each backward layer
// freed as a forward one fills: the pair holds one layer more than the chunk (the caller's).
double micro_batches_in_flight(const ParallelPlan& p, int stage) {
  const int paired = p.overlap_ep_comm && p.vp > 1 ? 1 : 0;
  const double chunks = 2.0 * (p.pp - stage - 1) + double(p.vp - 1) * p.pp + 1 + paired;
  return p.vp == 1 ? std::min(p.pp - stage, p.micro_batches)
                   : std::min(chunks, double(p.micro_batches) * p.vp) / p.vp;
}
}  // namespace

double layer_expert_params_per_gpu(const ModelSpec& m, const ParallelPlan& p, int layer) {
  return m.is_moe_layer(layer) ? double(m.experts) / p.ep * m.expert_shape(layer).params() / p.etp : 0;
}

double layer_dense_params_per_gpu(const ModelSpec& m, const ParallelPlan& p, int layer) {
  const double ffn = m.is_moe_layer(layer) ? m.shared_experts * m.expert_params() : m.dense_ffn_params();
  return (m.mixing_params(layer) + m.router_params(layer) + m.re_represent_params(layer) + ffn) / p.tp;
}

double mtp_dense_params_per_gpu(const ModelSpec& m, const ParallelPlan& p) {
  const double projection = 2.0 * m.d_model * m.d_model / p.tp;
  return m.mtp_layers * (layer_dense_params_per_gpu(m, p, m.layers - 1) + projection);
}

double mtp_expert_params_per_gpu(const ModelSpec& m, const ParallelPlan& p) {
  return m.mtp_layers * layer_expert_params_per_gpu(m, p, m.layers - 1);
}

double stage_expert_params_per_gpu(const ModelSpec& m, const ParallelPlan& p, int stage) {
  double params = stage == p.pp - 1 ? mtp_expert_params_per_gpu(m, p) : 0;
  p.for_each_stage_layer(stage, m.layers, [&](int l) { params += layer_expert_params_per_gpu(m, p, l); });
  return params;
}

double stage_params_per_gpu(const ModelSpec& m, const ParallelPlan& p, int stage) {
  double params = 0;
  p.for_each_stage_layer(stage, m.layers,
                         [&](int l) { params += layer_dense_params_per_gpu(m, p, l) + layer_expert_params_per_gpu(m, p, l); });
  // Input embedding on the first stage, output layer and MTP modules on the last.
  if (stage == 0) params += m.embedding_params() / 2 / p.tp;
  if (stage == p.pp - 1)
    params += m.embedding_params() / 2 / p.tp + mtp_dense_params_per_gpu(m, p) + mtp_expert_params_per_gpu(m, p);
  return params;
}

namespace {
double largest_layer_params(const ModelSpec& m, const ParallelPlan& p, int stage) {
  double most = 0;
  p.for_each_stage_layer(stage, m.layers, [&](int l) {
    most = std::max(most, layer_dense_params_per_gpu(m, p, l) + layer_expert_params_per_gpu(m, p, l));
  });
  return most;
}

// One layer's activations per micro-batch on a GPU, in bytes; `buffers` grows to the largest
// all-to-all buffer a MoE layer needs.
double layer_activation_bytes(const ModelSpec& m, const ParallelPlan& p, int l, double max_expert_rows, double& buffers) {
  const double h = m.d_model;
  const double tokens = double(p.tokens_per_gpu());  // this GPU's rows: the CP rank's tokens over TP
  const bool norms = p.recomputes_module("layernorm");
  double bytes = tokens * (m.has_mixing_block(l) ? attention_block_bytes(m) - (norms ? linear_input_bytes(m) : 0) : 4) *
                 h;  // attention block + layer norms
  if (m.is_moe_layer(l)) {
    const ModelSpec::ExpertShape e = m.expert_shape(l);
    // The MoE layer's input (BF16: the router's too), the shared experts' hidden values,
    // and the busiest GPU's expert rows: each row's input and hidden values (the activation's
    // output, the second GEMM's input, unless moe_act recomputes it).
    const double shared = p.recomputes_module("shared_experts") ? 0 : m.shared_experts * ffn_hidden_bytes(m, m.d_ffn_expert);
    bytes += tokens * ((norms ? 0 : 2 * h) + shared);
    // An eager clamp (ModelSpec::glu_clamp) keeps its input beside the clamped copy the
    // activation keeps: 2 BF16 values more per hidden value, unless moe_act recomputes both.
    const bool recomputed = p.recomputes_module("moe_act");
    const double activation_output = recomputed ? 0 : linear_input_bytes(m);
    const double clamp_input = m.clamps_glu_eagerly() && !recomputed ? 4.0 : 0;
    bytes += max_expert_rows * (linear_input_bytes(m) * e.item_width +
                                ((e.matrices == 3 ? 4.0 : 2.0) + activation_output + clamp_input) * e.hidden / p.etp);
    buffers = std::max(buffers, max_expert_rows * (m.dispatch_bytes_per_token() + m.combine_bytes_per_token()));
  } else {
    // TP splits the hidden width and SP the input rows: per GPU, (s b / tp) rows of full width.
    const double hidden = p.recomputes_module("mlp") ? 0 : ffn_hidden_bytes(m, m.d_ffn_dense);
    bytes += tokens * ((norms ? 0 : linear_input_bytes(m) * h) + hidden);
  }
  return bytes;
}
}  // namespace

MemoryBreakdown memory_per_gpu(const ModelSpec& m, const ParallelPlan& p, double max_expert_rows) {
  MemoryBreakdown best;
  const double h = m.d_model;
  const double tokens = double(p.tokens_per_gpu());  // this GPU's rows: the CP rank's tokens over TP
  for (int stage = 0; stage < p.pp; ++stage) {
    const double params = stage_params_per_gpu(m, p, stage);
    const double in_flight = micro_batches_in_flight(p, stage);
    double per_microbatch = 0, buffers = 0, largest_recomputed = 0, largest_layer = 0;
    p.for_each_stage_layer(stage, m.layers, [&](int l) {
      double bytes = layer_activation_bytes(m, p, l, max_expert_rows, buffers);
      largest_layer = std::max(largest_layer, bytes);
      // Full recomputation keeps a recomputed layer's input (2 h per token) of every
      // micro-batch in flight, and the activations of the one layer being recomputed.
      if (p.recomputes_layer(l, m.layers)) {
        largest_recomputed = std::max(largest_recomputed, bytes);
        bytes = tokens * 2 * h;
      }
      per_microbatch += bytes;
    });
    // Each MTP module keeps its layer's activations (a layer like the last) and its
    // projection's input, the two normed halves (2 x 2 h per token).
    if (stage == p.pp - 1 && m.mtp_layers > 0)
      per_microbatch += m.mtp_layers * (layer_activation_bytes(m, p, m.layers - 1, max_expert_rows, buffers) + tokens * 4 * h);
    // The loss keeps its softmax in FP32 for the backward (Megatron-Core's fused cross entropy),
    // once per MTP module more: the micro-batch's tokens (tokens x tp) over this GPU's share of
    // the vocabulary (vocab / tp).
    if (stage == p.pp - 1) per_microbatch += (1 + m.mtp_layers) * tokens * m.vocab * LOSS_SOFTMAX_BYTES;
    const double paired_layer = p.overlap_ep_comm ? largest_layer : 0;  // the combined order's pair
    const double activations = per_microbatch * in_flight + largest_recomputed + paired_layer;
    const double expert_params = stage_expert_params_per_gpu(m, p, stage);
    const double sharded_params = (params - expert_params) / p.dense_replicas() + expert_params / p.edp();
    const double optimizer_params = p.shards_optimizer() ? sharded_params : params;
    // FSDP keeps a shard of the weights and gradients, and the gathered weights of the layer
    // that computes and of the next one, prefetched.
    const double weight_params = p.fsdp ? sharded_params + 2 * largest_layer_params(m, p, stage) : params;
    const double gradient_params = p.fsdp ? sharded_params : params;
    MemoryBreakdown mem{weight_params * WEIGHT_BYTES, gradient_params * bytes_per_element(p.gradient_dtype),
                        optimizer_params * OPTIMIZER_BYTES, activations, buffers};
    if (mem.total_bytes() > best.total_bytes()) best = mem;
  }
  return best;
}

}  // namespace moesim
