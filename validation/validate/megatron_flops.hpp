#pragma once
// The model FLOPs that Megatron's training loops report (their "TFLOP/s/GPU"), so that a
// predicted step time converts into a published TFLOP/s figure with the publisher's own count
// rather than moesim's (which differs: Megatron-LM's 2024 formula does not halve causal
// attention, Megatron-Bridge's counts multi-token prediction and pads the vocabulary).
#include <optional>

#include "models/model.hpp"

namespace moesim::validation {

// Megatron-LM's num_floating_point_operations as of Megatron-Core 0.8 and 0.9
// (megatron/training/training.py), per token: GQA/MHA models whose layers are all MoE or all
// dense (it has one FFN width), SwiGLU; nullopt for other models.
std::optional<double> megatron_core_2024_flops_per_token(const ModelSpec& m, int seq_len);

// Megatron-Bridge's num_floating_point_operations (src/megatron/bridge/training/utils/
// flop_utils.py, transformer_flops), per token: MLA or GQA attention with causal halving, dense
// and MoE layers, shared experts, mtp_layers multi-token-prediction modules, the vocabulary
// padded to a multiple of 128 x tp. SwiGLU is taken for gated FFNs (the formula counts 3/2 only
// for SiLU gates).
double megatron_bridge_flops_per_token(const ModelSpec& m, int seq_len, int mtp_layers, int tp);

}  // namespace moesim::validation
