#include "models/model.hpp"

namespace moesim {

bool ModelSpec::is_moe_layer(int layer) const {
  if (layer < first_dense_layers || experts == 0) return false;
  // Switch / V-MoE place the MoE in every second block, starting with the second.
  return (layer - first_dense_layers + 1) % moe_layer_interval == 0;
}

int ModelSpec::moe_layers() const {
  int n = 0;
  for (int l = 0; l < layers; ++l) n += is_moe_layer(l);
  return n;
}

double ModelSpec::attention_params() const {
  const double d = d_model;
  const AttentionSpec& a = attention;
  if (a.kind == AttentionKind::MLA) {
    const double qk = a.qk_nope_head_dim + a.qk_rope_head_dim;
    const double q = a.q_lora_rank ? d * a.q_lora_rank + a.q_lora_rank * a.heads * qk : d * a.heads * qk;
    const double kv = d * (a.kv_lora_rank + a.qk_rope_head_dim) +
                      a.kv_lora_rank * a.heads * (a.qk_nope_head_dim + a.v_head_dim);
    return q + kv + a.heads * a.v_head_dim * d;
  }
  return d * a.head_dim * (a.heads + 2.0 * a.kv_heads) + a.heads * a.head_dim * d;
}

double ModelSpec::expert_params() const { return ffn_matrices() * double(d_model) * d_ffn_expert; }
double ModelSpec::dense_ffn_params() const { return ffn_matrices() * double(d_model) * d_ffn_dense; }
double ModelSpec::embedding_params() const { return 2.0 * vocab * d_model; }  // input + output, untied

double ModelSpec::total_params() const {
  const int moe = moe_layers();
  const int dense = layers - moe;
  const double router = double(d_model) * experts;
  return layers * attention_params() + dense * dense_ffn_params() +
         moe * ((experts + shared_experts) * expert_params() + router) + embedding_params();
}

double ModelSpec::active_params() const {
  const int moe = moe_layers();
  const int dense = layers - moe;
  return layers * attention_params() + dense * dense_ffn_params() +
         moe * ((top_k + shared_experts) * expert_params() + double(d_model) * experts) + embedding_params();
}

double ModelSpec::attention_projection_flops_per_token() const { return 2 * attention_params(); }

double ModelSpec::attention_core_flops_per_token(int seq_len) const {
  const AttentionSpec& a = attention;
  const double qk_dim = a.kind == AttentionKind::MLA ? a.qk_nope_head_dim + a.qk_rope_head_dim : a.head_dim;
  const double v_dim = a.kind == AttentionKind::MLA ? a.v_head_dim : a.head_dim;
  // Scores and weighted values: 2 FLOPs per multiply-add over on average s/2 keys (causal).
  return 2.0 * a.heads * (qk_dim + v_dim) * (seq_len / 2.0);
}

double ModelSpec::attention_flops_per_token(int seq_len) const {
  return attention_projection_flops_per_token() + attention_core_flops_per_token(seq_len);
}

namespace {
double wire_bytes_per_token(Dtype dtype, int d_model) {
  const double values = d_model * bytes_per_element(dtype);
  // FP8 travels with one FP32 scale per 128-value block.
  return dtype == Dtype::FP8 ? values + (d_model + 127) / 128 * 4.0 : values;
}
}  // namespace

double ModelSpec::dispatch_bytes_per_token() const { return wire_bytes_per_token(dispatch_dtype, d_model); }
double ModelSpec::combine_bytes_per_token() const { return wire_bytes_per_token(combine_dtype, d_model); }

}  // namespace moesim
