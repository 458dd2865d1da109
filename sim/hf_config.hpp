#pragma once
#include <string>

#include "models/model.hpp"

namespace moesim {

// A model from a Hugging Face `config.json` (Mixtral, DeepSeek-V2/V3, Qwen2-MoE, Qwen3-MoE,
// OLMoE, GPT-OSS), chosen by its `model_type`. Missing fields are named all at once; an
// unknown architecture is refused with the known ones. The sequence length default is
// moesim's training default (4096, or less where the model's context is shorter).
ModelSpec read_hf_config(const std::string& path);
ModelSpec parse_hf_config(const std::string& text, const std::string& source);

}  // namespace moesim
