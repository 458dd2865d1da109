#pragma once
#include <string>

#include "hardware/dtype.hpp"
#include "hardware/registry.hpp"

namespace moesim {

enum class AttentionKind {
  GQA,  // multi-head / grouped-query attention (kv_heads <= heads)
  MLA,  // DeepSeek multi-head latent attention (low-rank q and kv projections)
};

struct AttentionSpec {
  AttentionKind kind = AttentionKind::GQA;
  int heads = 0;
  int kv_heads = 0;      // GQA
  int head_dim = 0;      // GQA
  int q_lora_rank = 0;   // MLA; 0 = full-rank q projection
  int kv_lora_rank = 0;  // MLA
  int qk_nope_head_dim = 0;
  int qk_rope_head_dim = 0;
  int v_head_dim = 0;
  // Sliding-window attention: windowed layers let each query see only the last
  // sliding_window keys (0: every layer attends to the whole causal prefix). Windowed are
  // the layers l with l % sliding_window_every == 0 (GPT-OSS: every other layer from the
  // first; Mistral-7B: all).
  int sliding_window = 0;
  int sliding_window_every = 1;
  // RMSNorm of every query and key head before attention (Qwen3's q_norm and k_norm, OLMoE's;
  // Megatron-Core's qk_layernorm): one more normalization pass over the queries and keys.
  bool qk_norm = false;
  bool is_windowed(int layer) const { return sliding_window > 0 && layer % sliding_window_every == 0; }
  // Per head: the width of queries and keys, and of values.
  int qk_head_dim() const { return kind == AttentionKind::MLA ? qk_nope_head_dim + qk_rope_head_dim : head_dim; }
  int value_head_dim() const { return kind == AttentionKind::MLA ? v_head_dim : head_dim; }
};

// A MoE transformer as its published config describes it. Dense FFN layers use d_ffn_dense,
// MoE layers route each token to top_k of `experts` FFNs of width d_ffn_expert plus
// `shared_experts` always-on FFNs of the same width.
struct ModelSpec {
  std::string name;
  int layers = 0;
  int first_dense_layers = 0;   // leading dense layers (DeepSeek-V3: 3)
  int moe_layer_interval = 1;   // every n-th layer after those is MoE (Switch, V-MoE: 2); 0: none (dense)
  int d_model = 0;
  int d_ffn_dense = 0;
  int d_ffn_expert = 0;
  int experts = 0;
  int top_k = 0;
  int shared_experts = 0;
  int vocab = 0;                // output classes for vision models
  bool gated_ffn = true;        // SwiGLU (3 matrices) vs GELU/ReLU MLP (2 matrices)
  int default_seq_len = 0;      // tokens per sample if the plan does not say (vision: patches + class token)
  AttentionSpec attention;
  // All-MLP vision models (MLP-Mixer, Tolstikhin et al. 2021) mix tokens with an MLP across
  // the patches instead of attention: per channel, patches -> token_mixing_hidden -> patches
  // (GELU), with default_seq_len patches. 0: attention.
  int token_mixing_hidden = 0;
  // Sparse-MLP (Lou et al. 2021): MoE layers come in pairs, a token-mixing MoE whose items are
  // channel vectors over the patches, then a channel-mixing MoE over patch vectors; neither
  // has a token-mixing block of its own. A re-represent layer before the token-mixing MoE
  // maps the d_model channels of each patch to token_moe_channels (halving the routed items
  // at d_model / 2) and one after it maps them back. 0: every MoE layer routes tokens.
  int token_moe_channels = 0;
  // Multi-token prediction (DeepSeek-V3, Sec. 2.2 of its report: depth 1 in training): each
  // module predicts one token further from the main model's last hidden states and the next
  // token's embedding: two RMSNorms, a projection of 2 d_model to d_model, one transformer
  // layer like the model's last, and the shared output layer once more. Megatron-Core runs the
  // modules on the last pipeline stage. Their parameters are not in total_params().
  int mtp_layers = 0;
  // Biases on the experts' linear layers (GPT-OSS has them; most MoE models do not), and how
  // the step adds them: "none" (no biases), "fused" (in the GEMM's epilogue or the activation
  // kernel: no pass of their own) or "per_expert": as Megatron-Core's TEGroupedMLP does (0.15
  // and 0.16, _apply_bias in megatron/core/transformer/moe/experts.py): the input projection's
  // bias inside the fused activation, the output projection's after the grouped GEMM in eager
  // PyTorch, one local expert at a time, scaled by the router's FP32 probability; the pieces
  // concatenated in FP32 and cast back to BF16. Those passes are charged per expert row.
  std::string expert_bias = "none";
  bool adds_expert_bias_per_expert() const { return expert_bias == "per_expert"; }
  // Clamped gated activations (GPT-OSS clamps the SwiGLU's gate at 7 and its linear half to
  // [-7, 7]), and how the step clamps: "none" (no clamp), "fused" (inside the activation
  // kernel: no pass of its own) or "eager": as Megatron-Core 0.15/0.16 does it
  // (weighted_bias_quick_geglu_impl in megatron/core/fusions/fused_bias_geglu.py): the input
  // projection's output chunked in two, each half clamped and the halves concatenated again in
  // eager PyTorch before the fused activation, and autograd's kernels for them in backward.
  std::string glu_clamp = "none";
  bool clamps_glu_eagerly() const { return glu_clamp == "eager"; }
  Dtype compute_dtype = Dtype::BF16;
  // Fused attention's precision: BF16, or FP8 attention in an FP8 recipe.
  AttentionDtype attention_dtype = AttentionDtype::BF16;
  Dtype dispatch_dtype = Dtype::BF16;
  Dtype combine_dtype = Dtype::BF16;

  bool is_moe_layer(int layer) const;
  // Sparse-MLP: the first of each pair of MoE layers mixes tokens.
  bool is_token_moe_layer(int layer) const;
  // What one expert of a MoE layer takes and computes.
  struct ExpertShape {
    double items_per_token = 1;  // routed items per token (patch)
    int item_width = 0;          // values per item
    int hidden = 0;              // hidden width
    int matrices = 0;            // weight matrices (gated: 3, plain MLP: 2)
    double params() const { return double(matrices) * item_width * hidden; }
  };
  ExpertShape expert_shape(int layer) const;
  // Per layer: its token-mixing block (attention, the all-MLP token MLP, or none), its
  // router and Sparse-MLP's re-represent layers; FLOPs per token, forward.
  bool has_mixing_block(int layer) const;
  double mixing_params(int layer) const;
  double mixing_projection_flops_per_token(int layer) const;
  double mixing_core_flops_per_token(int layer, int seq_len) const;
  double router_params(int layer) const;
  double re_represent_params(int layer) const;
  int moe_layers() const;
  // "32 layers, 8 experts, top-2", or "32 dense layers (no MoE)" for a model without MoE layers.
  std::string shape_summary() const;
  int ffn_matrices() const { return gated_ffn ? 3 : 2; }
  // Parameter counts (weights only; norms and biases are below 0.1 % and left out).
  double attention_params() const;
  double expert_params() const;  // one routed expert
  double dense_ffn_params() const;
  double embedding_params() const;
  double total_params() const;
  double active_params() const;  // per token
  // Forward FLOPs per token of one layer's attention at sequence length s (causal; windowed:
  // within the model's sliding window).
  double attention_flops_per_token(int seq_len, bool windowed = false) const;
  // Of which the projections (GEMMs) and the core (scores and weighted values).
  double attention_projection_flops_per_token() const;
  // MLA: the query and key-value up-projections (from the compressed latents to the heads); 0
  // for other attention.
  double mla_up_projection_params() const;
  double attention_core_flops_per_token(int seq_len, bool windowed = false) const;
  // Bytes per token sent by dispatch: values plus, for FP8, one FP32 scale per 128 values
  // (DeepEP's layout: 7168 + 56 x 4 = 7392 B for DeepSeek-V3).
  double dispatch_bytes_per_token() const;
  double combine_bytes_per_token() const;
};

const Registry<ModelSpec>& model_presets();

}  // namespace moesim
