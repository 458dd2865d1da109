#include "validation/validate/megatron_flops.hpp"

namespace moesim::validation {

namespace {
// Every GEMM three times (forward, data and weight gradients), two FLOPs per multiply-add.
constexpr double FWD_BWD_FMA = 3 * 2;
// Megatron's expansion factor: the above, times two GEMMs of an FFN (h -> f and f -> h).
constexpr double EXPANSION = 3 * 2 * 2;

double padded_vocab(int vocab, int tp) {
  const int multiple = 128 * tp;  // --make-vocab-size-divisible-by 128, times TP
  return double((vocab + multiple - 1) / multiple * multiple);
}
double glu(const ModelSpec& m) { return m.gated_ffn ? 1.5 : 1.0; }
}  // namespace

std::optional<double> megatron_core_2024_flops_per_token(const ModelSpec& m, int seq_len) {
  if (m.attention.kind != AttentionKind::GQA || m.shared_experts > 0) return std::nullopt;
  int moe_layers = 0;
  for (int l = 0; l < m.layers; ++l) moe_layers += m.is_moe_layer(l) ? 1 : 0;
  if (moe_layers != 0 && moe_layers != m.layers) return std::nullopt;
  const double h = m.d_model, s = seq_len, layers = m.layers;
  const AttentionSpec& a = m.attention;
  const double q_ratio = double(a.head_dim) * a.heads / h;
  const double ffn = moe_layers ? m.d_ffn_expert : m.d_ffn_dense;
  const double routed = moe_layers ? m.top_k : 1;
  // (megatron pads by 128 x tp too; the 2024 runs' vocabularies are multiples of 128)
  return EXPANSION * layers * h * h *
         ((1 + double(a.kv_heads) / a.heads + s / h) * q_ratio + ffn / h * routed * glu(m) +
          padded_vocab(m.vocab, 1) / (2 * layers * h));
}

double megatron_bridge_flops_per_token(const ModelSpec& m, int seq_len, int mtp_layers, int tp) {
  int moe_layers = 0;
  for (int l = 0; l < m.layers; ++l) moe_layers += m.is_moe_layer(l) ? 1 : 0;
  int dense_layers = m.layers - moe_layers;
  // each MTP module is a layer like the model's last
  (m.is_moe_layer(m.layers - 1) ? moe_layers : dense_layers) += mtp_layers;
  const double layers = m.layers + mtp_layers, h = m.d_model, s = seq_len;
  const AttentionSpec& a = m.attention;
  double attention = 0;
  if (a.kind == AttentionKind::MLA) {
    const double qk = a.qk_nope_head_dim, rope = a.qk_rope_head_dim, v = a.v_head_dim, heads = a.heads;
    const double q = a.q_lora_rank > 0 ? a.q_lora_rank * (h + heads * (qk + rope) + 1) : h * heads * (qk + rope);
    attention = FWD_BWD_FMA * layers *
                (q + a.kv_lora_rank * (h + heads * (qk + v) + 1) + h * rope + heads * v * h +
                 s * heads * (qk + rope) / 2 + s * heads * v / 2);
  } else {
    const double q_ratio = double(a.head_dim) * a.heads / h;
    attention = EXPANSION * layers * h * h * (1 + double(a.kv_heads) / a.heads + s / h / 2) * q_ratio;
  }
  const double ffn = EXPANSION * h *
                     (double(m.d_ffn_dense) * glu(m) * dense_layers + double(m.d_ffn_expert) * m.top_k * glu(m) * moe_layers +
                      double(m.shared_experts) * m.d_ffn_expert * glu(m) * moe_layers);
  const double mtp = FWD_BWD_FMA * mtp_layers * (3 * h + 2 * h * h);
  const double logits = FWD_BWD_FMA * h * padded_vocab(m.vocab, tp) * (mtp_layers + 1);
  return ffn + attention + mtp + logits;
}

}  // namespace moesim::validation
