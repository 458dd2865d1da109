#include "models/model.hpp"

namespace moesim {

bool ModelSpec::is_moe_layer(int layer) const {
  if (layer < first_dense_layers || experts == 0 || moe_layer_interval == 0) return false;
  // Switch / V-MoE place the MoE in every second block, starting with the second.
  return (layer - first_dense_layers + 1) % moe_layer_interval == 0;
}

bool ModelSpec::is_token_moe_layer(int layer) const {
  if (token_moe_channels <= 0 || !is_moe_layer(layer)) return false;
  int index = 0;
  for (int l = 0; l < layer; ++l) index += is_moe_layer(l);
  return index % 2 == 0;
}

ModelSpec::ExpertShape ModelSpec::expert_shape(int layer) const {
  if (!is_token_moe_layer(layer)) return {1, d_model, d_ffn_expert, ffn_matrices()};
  // token_moe_channels channel vectors of default_seq_len values per sample of that many patches.
  return {double(token_moe_channels) / default_seq_len, default_seq_len, token_mixing_hidden, 2};
}

bool ModelSpec::has_mixing_block(int layer) const { return !(token_moe_channels > 0 && is_moe_layer(layer)); }

double ModelSpec::mixing_params(int layer) const {
  if (!has_mixing_block(layer)) return 0;
  return token_mixing_hidden > 0 ? 2.0 * default_seq_len * token_mixing_hidden : attention_params();
}

// The token MLP runs once per channel per sample: 2 matrices of seq x hidden, 2 FLOPs per
// multiply-add, over d_model channels of default_seq_len patches: 4 d_model hidden per patch.
double ModelSpec::mixing_projection_flops_per_token(int layer) const {
  if (!has_mixing_block(layer)) return 0;
  return token_mixing_hidden > 0 ? 4.0 * d_model * token_mixing_hidden : attention_projection_flops_per_token();
}

double ModelSpec::mixing_core_flops_per_token(int layer, int seq_len) const {
  return has_mixing_block(layer) && token_mixing_hidden == 0
             ? attention_core_flops_per_token(seq_len, attention.is_windowed(layer))
             : 0;
}

double ModelSpec::router_params(int layer) const {
  return is_moe_layer(layer) ? double(expert_shape(layer).item_width) * experts : 0;
}

double ModelSpec::re_represent_params(int layer) const {
  return is_token_moe_layer(layer) ? 2.0 * d_model * token_moe_channels : 0;
}

int ModelSpec::moe_layers() const {
  int n = 0;
  for (int l = 0; l < layers; ++l) n += is_moe_layer(l);
  return n;
}

std::string ModelSpec::shape_summary() const {
  if (moe_layers() == 0) return std::to_string(layers) + " dense layers (no MoE)";
  return std::to_string(layers) + " layers, " + std::to_string(experts) + " experts, top-" + std::to_string(top_k);
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
  double params = embedding_params();
  for (int l = 0; l < layers; ++l) {
    params += mixing_params(l) + router_params(l) + re_represent_params(l);
    params += is_moe_layer(l) ? experts * expert_shape(l).params() + shared_experts * expert_params() : dense_ffn_params();
  }
  return params;
}

double ModelSpec::active_params() const {
  double params = embedding_params();
  for (int l = 0; l < layers; ++l) {
    params += mixing_params(l) + router_params(l) + re_represent_params(l);
    params += is_moe_layer(l) ? top_k * expert_shape(l).params() + shared_experts * expert_params() : dense_ffn_params();
  }
  return params;
}

double ModelSpec::attention_projection_flops_per_token() const { return 2 * attention_params(); }

double ModelSpec::mla_up_projection_params() const {
  const AttentionSpec& a = attention;
  if (a.kind != AttentionKind::MLA) return 0;
  const double q = a.q_lora_rank ? double(a.q_lora_rank) * a.heads * (a.qk_nope_head_dim + a.qk_rope_head_dim) : 0;
  return q + double(a.kv_lora_rank) * a.heads * (a.qk_nope_head_dim + a.v_head_dim);
}

double ModelSpec::attention_core_flops_per_token(int seq_len, bool windowed) const {
  const AttentionSpec& a = attention;
  const double qk_dim = a.qk_head_dim(), v_dim = a.value_head_dim();
  // Scores and weighted values: 2 FLOPs per multiply-add over on average s/2 keys (causal).
  // Within a window of w < s keys, query i sees min(i + 1, w): on average w - w^2 / (2 s).
  const double s = seq_len, w = a.sliding_window;
  const double keys = windowed && w < s ? w - w * w / (2 * s) : s / 2;
  return 2.0 * a.heads * (qk_dim + v_dim) * keys;
}

double ModelSpec::attention_flops_per_token(int seq_len, bool windowed) const {
  return attention_projection_flops_per_token() + attention_core_flops_per_token(seq_len, windowed);
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
