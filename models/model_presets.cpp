// MoE architecture presets, from each model's published configuration.
#include "models/model.hpp"

namespace moesim {

namespace {
AttentionSpec gqa(int heads, int kv_heads, int head_dim) {
  AttentionSpec a;
  a.kind = AttentionKind::GQA;
  a.heads = heads;
  a.kv_heads = kv_heads;
  a.head_dim = head_dim;
  return a;
}

ModelSpec mixtral_8x7b() {
  // mistralai/Mixtral-8x7B-v0.1 config.json: hidden_size 4096, intermediate_size 14336,
  // num_hidden_layers 32, num_attention_heads 32, num_key_value_heads 8, num_local_experts 8,
  // num_experts_per_tok 2, vocab_size 32000.
  ModelSpec m;
  m.name = "mixtral-8x7b";
  m.layers = 32;
  m.d_model = 4096;
  m.d_ffn_dense = 14336;
  m.d_ffn_expert = 14336;
  m.experts = 8;
  m.top_k = 2;
  m.vocab = 32000;
  m.default_seq_len = 4096;
  m.attention = gqa(32, 8, 128);
  return m;
}

ModelSpec deepseek_v3() {
  // deepseek-ai/DeepSeek-V3 config.json: hidden_size 7168, intermediate_size 18432,
  // moe_intermediate_size 2048, num_hidden_layers 61, first_k_dense_replace 3,
  // n_routed_experts 256, n_shared_experts 1, num_experts_per_tok 8, num_attention_heads 128,
  // q_lora_rank 1536, kv_lora_rank 512, qk_nope_head_dim 128, qk_rope_head_dim 64,
  // v_head_dim 128, vocab_size 129280. FP8 dispatch, BF16 combine (V3 report Sec. 3.3).
  ModelSpec m;
  m.name = "deepseek-v3";
  m.layers = 61;
  m.first_dense_layers = 3;
  m.d_model = 7168;
  m.d_ffn_dense = 18432;
  m.d_ffn_expert = 2048;
  m.experts = 256;
  m.top_k = 8;
  m.shared_experts = 1;
  m.vocab = 129280;
  m.default_seq_len = 4096;
  m.attention.kind = AttentionKind::MLA;
  m.attention.heads = 128;
  m.attention.q_lora_rank = 1536;
  m.attention.kv_lora_rank = 512;
  m.attention.qk_nope_head_dim = 128;
  m.attention.qk_rope_head_dim = 64;
  m.attention.v_head_dim = 128;
  m.mtp_layers = 1;  // prediction depth 1 in training (V3 report, Sec. 2.2; num_nextn_predict_layers)
  m.dispatch_dtype = Dtype::FP8;
  return m;
}

// Dense Llama 3 models (no MoE layer, no routing: moe_layer_interval 0): the calibration set of
// each GPU's training_tensor_fraction (validation/calibration/megatron_bridge_dense_llama.json)
// and a dense baseline to compare MoE plans with. The expert fields are unused.
ModelSpec llama3(const std::string& name, int layers, int d_model, int d_ffn, int heads) {
  ModelSpec m;
  m.name = name;
  m.layers = layers;
  m.moe_layer_interval = 0;
  m.d_model = d_model;
  m.d_ffn_dense = d_ffn;
  m.d_ffn_expert = d_ffn;
  m.experts = 1;
  m.top_k = 1;
  m.vocab = 128256;
  m.default_seq_len = 8192;
  m.attention = gqa(heads, 8, 128);
  return m;
}

ModelSpec qwen3_30b_a3b() {
  // Qwen/Qwen3-30B-A3B config.json: hidden_size 2048, num_hidden_layers 48,
  // num_attention_heads 32, num_key_value_heads 4, head_dim 128, moe_intermediate_size 768,
  // intermediate_size 6144, num_experts 128, num_experts_per_tok 8, vocab_size 151936;
  // Qwen3MoeAttention normalizes each query and key head (q_norm, k_norm).
  ModelSpec m;
  m.name = "qwen3-30b-a3b";
  m.layers = 48;
  m.d_model = 2048;
  m.d_ffn_dense = 6144;
  m.d_ffn_expert = 768;
  m.experts = 128;
  m.top_k = 8;
  m.vocab = 151936;
  m.default_seq_len = 4096;
  m.attention = gqa(32, 4, 128);
  m.attention.qk_norm = true;
  return m;
}

ModelSpec olmoe_1b_7b() {
  // allenai/OLMoE-1B-7B-0924 config.json: hidden_size 2048, intermediate_size 1024,
  // num_hidden_layers 16, num_attention_heads 16, num_key_value_heads 16, num_experts 64,
  // num_experts_per_tok 8, vocab_size 50304; OlmoeAttention normalizes its queries and keys
  // (q_norm, k_norm).
  ModelSpec m;
  m.name = "olmoe-1b-7b";
  m.layers = 16;
  m.d_model = 2048;
  m.d_ffn_dense = 1024;
  m.d_ffn_expert = 1024;
  m.experts = 64;
  m.top_k = 8;
  m.vocab = 50304;
  m.default_seq_len = 4096;
  m.attention = gqa(16, 16, 128);
  m.attention.qk_norm = true;
  return m;
}

ModelSpec switch_base_128() {
  // google/switch-base-128 config.json: d_model 768, d_ff 3072, num_layers 12 (+12 decoder),
  // num_heads 12, d_kv 64, num_experts 128, encoder/decoder_sparse_step 2 (every other FFN
  // is sparse), top-1 routing, ReLU MLP, vocab_size 32128. Encoder and decoder are modeled
  // as one 24-layer stack; the decoder's cross-attention is left out.
  ModelSpec m;
  m.name = "switch-base-128";
  m.layers = 24;
  m.moe_layer_interval = 2;
  m.d_model = 768;
  m.d_ffn_dense = 3072;
  m.d_ffn_expert = 3072;
  m.experts = 128;
  m.top_k = 1;
  m.vocab = 32128;
  m.gated_ffn = false;
  m.default_seq_len = 512;
  m.attention = gqa(12, 12, 64);
  return m;
}

ModelSpec mixer_b16() {
  // MLP-Mixer-B/16 (Tolstikhin et al., "MLP-Mixer: An all-MLP Architecture for Vision", 2021,
  // Table 1): 12 layers, patch 16 (224x224 -> S = 196 patches), hidden C = 768, token-mixing
  // MLP width D_S = 384, channel-mixing MLP width D_C = 3072, GELU. moesim has no dense layer
  // kind beside MoE ones: each block's channel MLP is one expert that every patch takes
  // (no choice, no all-to-all at ep = 1), which costs what the dense MLP costs.
  ModelSpec m;
  m.name = "mixer-b16";
  m.layers = 12;
  m.d_model = 768;
  m.d_ffn_dense = 3072;
  m.d_ffn_expert = 3072;
  m.experts = 1;
  m.top_k = 1;
  m.vocab = 1000;
  m.gated_ffn = false;
  m.default_seq_len = 196;
  m.token_mixing_hidden = 384;
  return m;
}

ModelSpec sparse_mlp_b16() {
  // Sparse-MLP (Lou et al., "Sparse-MLP: A Fully-MLP Architecture with Conditional
  // Computation", 2021) on the Mixer-B/16 shape above: Sparse blocks replace the last Mixer
  // blocks; each has a token-mixing MoE (experts mix along the patches, one channel vector
  // of S = 196 values per item, hidden D_S = 384) and a channel-mixing MoE (one patch vector
  // of C = 768 per item, hidden D_C = 3072). Its re-represent layers halve the routed channel
  // vectors (C -> C/2 = 384 per image) before the token-mixing MoE and restore them after.
  // The split (8 Mixer + 4 Sparse blocks), 16 experts and top-1 are this preset's choice, not
  // the paper's table: moesim gives both MoE kinds one expert count.
  ModelSpec m = mixer_b16();
  m.name = "sparse-mlp-b16";
  m.first_dense_layers = 8;
  m.layers = 8 + 2 * 4;  // a Sparse block is two moesim layers: token-mixing MoE, channel-mixing MoE
  m.experts = 16;
  m.token_moe_channels = 384;
  return m;
}

ModelSpec vmoe_b16() {
  // V-MoE-B/16 (Riquelme et al., "Scaling Vision with Sparse Mixture of Experts", NeurIPS 2021,
  // Sec. 3 and Table 8): ViT-B/16 backbone (12 layers, hidden 768, MLP 3072, 12 heads), MoE in
  // every other layer, E = 32 experts, k = 2, GELU MLP. Tokens are patches: a 224x224 image
  // gives 14x14 = 196 patches plus the class token. Output: ImageNet's 1000 classes.
  ModelSpec m;
  m.name = "vmoe-b16";
  m.layers = 12;
  m.moe_layer_interval = 2;
  m.d_model = 768;
  m.d_ffn_dense = 3072;
  m.d_ffn_expert = 3072;
  m.experts = 32;
  m.top_k = 2;
  m.vocab = 1000;
  m.gated_ffn = false;
  m.default_seq_len = 197;
  m.attention = gqa(12, 12, 64);
  return m;
}

ModelSpec qwen3_235b_a22b() {
  // Qwen/Qwen3-235B-A22B config.json: hidden_size 4096, num_hidden_layers 94,
  // num_attention_heads 64, num_key_value_heads 4, head_dim 128, moe_intermediate_size 1536,
  // intermediate_size 12288, num_experts 128, num_experts_per_tok 8, vocab_size 151936;
  // q_norm and k_norm as Qwen3-30B-A3B.
  ModelSpec m;
  m.name = "qwen3-235b-a22b";
  m.layers = 94;
  m.d_model = 4096;
  m.d_ffn_dense = 12288;
  m.d_ffn_expert = 1536;
  m.experts = 128;
  m.top_k = 8;
  m.vocab = 151936;
  m.default_seq_len = 4096;
  m.attention = gqa(64, 4, 128);
  m.attention.qk_norm = true;
  return m;
}

ModelSpec gpt_oss_120b() {
  // openai/gpt-oss-120b config.json: hidden_size 2880, intermediate_size 2880,
  // num_hidden_layers 36, num_attention_heads 64, num_key_value_heads 8, head_dim 64,
  // num_local_experts 128, num_experts_per_tok 4, vocab_size 201088, SwiGLU experts;
  // sliding_window 128 on the layers layer_types marks "sliding_attention": every other one
  // from layer 0. Its experts carry biases (the checkpoint's gate_up_proj_bias and
  // down_proj_bias), added as Megatron-Core 0.15/0.16 adds them.
  ModelSpec m;
  m.name = "gpt-oss-120b";
  m.layers = 36;
  m.d_model = 2880;
  m.d_ffn_dense = 2880;
  m.d_ffn_expert = 2880;
  m.experts = 128;
  m.top_k = 4;
  m.vocab = 201088;
  m.default_seq_len = 4096;
  m.attention = gqa(64, 8, 64);
  m.attention.sliding_window = 128;
  m.attention.sliding_window_every = 2;
  m.expert_bias = "per_expert";
  m.glu_clamp = "eager";
  return m;
}

Registry<ModelSpec> make_model_presets() {
  Registry<ModelSpec> r("model preset");
  r.add("mixtral-8x7b", "Mixtral 8x7B: 32 layers, 8 experts, top-2, GQA", mixtral_8x7b());
  r.add("deepseek-v3", "DeepSeek-V3: 61 layers (3 dense), MLA, 1 shared + 256 routed experts, top-8",
        deepseek_v3());
  r.add("qwen3-30b-a3b", "Qwen3-30B-A3B: 48 layers, 128 experts, top-8, GQA", qwen3_30b_a3b());
  r.add("qwen3-235b-a22b", "Qwen3-235B-A22B: 94 layers, 128 experts, top-8, GQA", qwen3_235b_a22b());
  r.add("gpt-oss-120b", "GPT-OSS-120B: 36 layers, 128 experts, top-4, GQA (128-token window every other layer)",
        gpt_oss_120b());
  // meta-llama/Meta-Llama-3-8B, -70B and Llama-3.1-405B config.json: hidden_size 4096 / 8192 /
  // 16384, intermediate_size 14336 / 28672 / 53248, num_hidden_layers 32 / 80 / 126,
  // num_attention_heads 32 / 64 / 128, num_key_value_heads 8, vocab_size 128256.
  r.add("llama3-8b", "Llama 3 8B: 32 dense layers, GQA (no MoE)", llama3("llama3-8b", 32, 4096, 14336, 32));
  r.add("llama3-70b", "Llama 3 70B: 80 dense layers, GQA (no MoE)", llama3("llama3-70b", 80, 8192, 28672, 64));
  r.add("llama3.1-405b", "Llama 3.1 405B: 126 dense layers, GQA (no MoE)",
        llama3("llama3.1-405b", 126, 16384, 53248, 128));
  r.add("olmoe-1b-7b", "OLMoE-1B-7B: 16 layers, 64 experts, top-8", olmoe_1b_7b());
  r.add("switch-base-128", "Switch-Base-128: 24 layers, MoE every other layer, 128 experts, top-1",
        switch_base_128());
  r.add("vmoe-b16", "V-MoE-B/16: ViT-B/16 with 32 experts every other layer, top-2, tokens = patches",
        vmoe_b16());
  r.add("mixer-b16", "MLP-Mixer-B/16: 12 all-MLP blocks, token MLP over 196 patches; dense (one expert per block)",
        mixer_b16());
  r.add("sparse-mlp-b16", "Sparse-MLP on Mixer-B/16: 8 Mixer blocks, then 4 Sparse blocks (token- and channel-mixing "
        "MoE, 16 experts, top-1)", sparse_mlp_b16());
  return r;
}
}  // namespace

const Registry<ModelSpec>& model_presets() {
  static const Registry<ModelSpec> presets = make_model_presets();
  return presets;
}

}  // namespace moesim
