#include "sim/hf_config.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "hardware/input_error.hpp"
#include "hardware/input_file.hpp"

namespace moesim {

namespace {

using json = nlohmann::json;

constexpr int DEFAULT_SEQ_LEN = 4096;

// Reads integers from the config, collecting every missing or mistyped field before failing.
class ConfigFields {
 public:
  ConfigFields(const json& doc, std::string source) : doc_(doc), source_(std::move(source)) {}

  int integer(const std::string& key) {
    const auto it = doc_.find(key);
    if (it == doc_.end() || !it->is_number_integer() || it->get<long long>() < 0) {
      missing_.push_back(key);
      return 0;
    }
    return int(it->get<long long>());
  }
  int integer_or(const std::string& key, int fallback) { return doc_.contains(key) && !doc_.at(key).is_null() ? integer(key) : fallback; }
  bool has(const std::string& key) const { return doc_.contains(key) && !doc_.at(key).is_null(); }
  const json& at(const std::string& key) const { return doc_.at(key); }

  void finish(const std::string& architecture) const {
    if (missing_.empty()) return;
    std::string list;
    for (const auto& key : missing_) list += (list.empty() ? "" : ", ") + key;
    throw InputError(source_ + ": a " + architecture + " config needs these fields as whole numbers: " + list);
  }
  const std::string& source() const { return source_; }

 private:
  const json& doc_;
  std::string source_;
  std::vector<std::string> missing_;
};

// sliding_window (unless use_sliding_window is false, as Qwen configs carry it), on every
// layer, or on those layer_types names "sliding_attention" when they are every n-th from
// layer 0 (GPT-OSS: every other one).
void sliding_window(ConfigFields& f, AttentionSpec& a) {
  if (f.has("use_sliding_window") && f.at("use_sliding_window") == false) return;
  a.sliding_window = f.integer_or("sliding_window", 0);
  if (a.sliding_window == 0 || !f.has("layer_types")) return;
  const json& types = f.at("layer_types");
  std::vector<int> windowed;
  for (size_t l = 0; types.is_array() && l < types.size(); ++l)
    if (types[l] == "sliding_attention") windowed.push_back(int(l));
  if (windowed.empty()) {
    a.sliding_window = 0;
    return;
  }
  a.sliding_window_every = windowed.size() > 1 ? windowed[1] : int(types.size());
  for (size_t l = 0; l < types.size(); ++l)
    if ((types[l] == "sliding_attention") != a.is_windowed(int(l)))
      throw InputError(f.source() + ": layer_types: moesim models sliding-window layers as every n-th layer from "
                                    "layer 0; this config's layer " + std::to_string(l) + " breaks that pattern");
}

AttentionSpec gqa(ConfigFields& f, int d_model) {
  AttentionSpec a;
  a.kind = AttentionKind::GQA;
  a.heads = f.integer("num_attention_heads");
  a.kv_heads = f.integer_or("num_key_value_heads", a.heads);
  a.head_dim = f.integer_or("head_dim", a.heads > 0 ? d_model / a.heads : 0);
  sliding_window(f, a);
  return a;
}

// The fields every architecture shares.
ModelSpec common(ConfigFields& f) {
  ModelSpec m;
  m.layers = f.integer("num_hidden_layers");
  m.d_model = f.integer("hidden_size");
  m.vocab = f.integer("vocab_size");
  m.default_seq_len = std::min(DEFAULT_SEQ_LEN, f.integer_or("max_position_embeddings", DEFAULT_SEQ_LEN));
  return m;
}

ModelSpec mixtral(ConfigFields& f) {
  ModelSpec m = common(f);
  m.d_ffn_dense = m.d_ffn_expert = f.integer("intermediate_size");
  m.experts = f.integer("num_local_experts");
  m.top_k = f.integer("num_experts_per_tok");
  m.attention = gqa(f, m.d_model);
  return m;
}

// The same fields as Mixtral's (its head_dim is explicit); its experts always carry biases
// (GptOssExperts: gate_up_proj_bias, down_proj_bias) and clamp their SwiGLU (swiglu_limit),
// added and clamped as Megatron-Core 0.15/0.16 does.
ModelSpec gpt_oss(ConfigFields& f) {
  ModelSpec m = mixtral(f);
  m.expert_bias = "per_expert";
  m.glu_clamp = "eager";
  return m;
}

// OlmoeAttention normalizes its queries and keys (q_norm, k_norm): no config field says so.
ModelSpec olmoe(ConfigFields& f) {
  ModelSpec m = common(f);
  m.d_ffn_dense = m.d_ffn_expert = f.integer("intermediate_size");
  m.experts = f.integer("num_experts");
  m.top_k = f.integer("num_experts_per_tok");
  m.attention = gqa(f, m.d_model);
  m.attention.qk_norm = true;
  return m;
}

ModelSpec qwen_moe(ConfigFields& f) {
  ModelSpec m = common(f);
  m.d_ffn_dense = f.integer("intermediate_size");
  m.d_ffn_expert = f.integer("moe_intermediate_size");
  m.experts = f.integer("num_experts");
  m.top_k = f.integer("num_experts_per_tok");
  m.moe_layer_interval = f.integer_or("decoder_sparse_step", 1);
  m.attention = gqa(f, m.d_model);
  if (f.has("mlp_only_layers") && !(f.at("mlp_only_layers").is_array() && f.at("mlp_only_layers").empty()))
    throw InputError(f.source() + ": mlp_only_layers lists dense layers; moesim models only leading dense layers "
                                  "and a fixed MoE interval");
  // Qwen2-MoE's shared expert is one FFN of shared_expert_intermediate_size: as that many
  // expert-width FFNs (the same weights and FLOPs).
  const int shared = f.integer_or("shared_expert_intermediate_size", 0);
  if (shared > 0 && m.d_ffn_expert > 0) {
    if (shared % m.d_ffn_expert != 0)
      throw InputError(f.source() + ": shared_expert_intermediate_size " + std::to_string(shared) +
                       " is not a multiple of moe_intermediate_size " + std::to_string(m.d_ffn_expert));
    m.shared_experts = shared / m.d_ffn_expert;
  }
  return m;
}

ModelSpec deepseek(ConfigFields& f) {
  ModelSpec m = common(f);
  m.d_ffn_dense = f.integer("intermediate_size");
  m.d_ffn_expert = f.integer("moe_intermediate_size");
  m.experts = f.integer("n_routed_experts");
  m.shared_experts = f.integer_or("n_shared_experts", 0);
  m.top_k = f.integer("num_experts_per_tok");
  m.first_dense_layers = f.integer_or("first_k_dense_replace", 0);
  m.moe_layer_interval = f.integer_or("moe_layer_freq", 1);
  m.attention.kind = AttentionKind::MLA;
  m.attention.heads = f.integer("num_attention_heads");
  m.attention.q_lora_rank = f.integer_or("q_lora_rank", 0);  // null in V2-Lite: a full-rank q projection
  m.attention.kv_lora_rank = f.integer("kv_lora_rank");
  m.attention.qk_nope_head_dim = f.integer("qk_nope_head_dim");
  m.attention.qk_rope_head_dim = f.integer("qk_rope_head_dim");
  m.attention.v_head_dim = f.integer("v_head_dim");
  // V3's multi-token prediction modules (absent from V2's configs)
  m.mtp_layers = f.integer_or("num_nextn_predict_layers", 0);
  // Checkpoints trained in FP8 (V3) dispatch FP8 activations (DeepSeek-V3 report, Sec. 3.3).
  if (f.has("quantization_config") && f.at("quantization_config").is_object() &&
      f.at("quantization_config").value("quant_method", "") == "fp8")
    m.dispatch_dtype = Dtype::FP8;
  return m;
}

// Qwen3's MoE attention normalizes each query and key head (Qwen3MoeAttention q_norm, k_norm);
// Qwen2-MoE's does not.
ModelSpec qwen3_moe(ConfigFields& f) {
  ModelSpec m = qwen_moe(f);
  m.attention.qk_norm = true;
  return m;
}

const std::map<std::string, std::function<ModelSpec(ConfigFields&)>>& architectures() {
  static const std::map<std::string, std::function<ModelSpec(ConfigFields&)>> known = {
      {"mixtral", mixtral},       {"deepseek_v2", deepseek}, {"deepseek_v3", deepseek}, {"qwen2_moe", qwen_moe},
      {"qwen3_moe", qwen3_moe},    {"olmoe", olmoe},          {"gpt_oss", gpt_oss},
  };
  return known;
}

}  // namespace

ModelSpec parse_hf_config(const std::string& text, const std::string& source) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {
    throw InputError(source + ": not JSON: " + e.what());
  }
  if (!doc.is_object() || !doc.contains("model_type") || !doc.at("model_type").is_string())
    throw InputError(source + ": /model_type: expected the architecture name of a Hugging Face config.json");
  const std::string type = doc.at("model_type").get<std::string>();
  const auto it = architectures().find(type);
  if (it == architectures().end()) {
    std::string list;
    for (const auto& [name, read] : architectures()) list += (list.empty() ? "" : ", ") + name;
    throw InputError(source + ": /model_type: \"" + type + "\": expected a known MoE architecture: " + list);
  }
  ConfigFields fields(doc, source);
  ModelSpec m = it->second(fields);
  fields.finish(type);
  m.name = doc.value("_name_or_path", type);
  return m;
}

ModelSpec read_hf_config(const std::string& path) { return parse_hf_config(read_input_file(path, "model config"), path); }

}  // namespace moesim
