#pragma once
// What NVIDIA's Megatron-Bridge performance scripts ran for a row of a release's published
// table beyond the plan the row states: CUDA graphs, the all-to-all overlap, the token
// dispatcher and selective recomputation. They differ from release to release (26.06 graphs
// whole steps and overlaps the all-to-alls where 26.02 did neither), so a row is simulated
// with its own release's settings, read from that release's scripts.
#include <optional>
#include <string>
#include <vector>

#include "validation/validate/dataset.hpp"

namespace moesim::validation {

struct BridgeRecipe {
  enum class Graphs { NONE, PARTS, STEP };  // eager; Transformer Engine graphs of parts; full_iteration
  enum class Dispatcher { NCCL_ALL_TO_ALL, HYBRID_EP, DEEP_EP };
  std::string config;  // the release tag and the recipe constant the settings come from
  Graphs graphs = Graphs::NONE;
  std::vector<std::string> graph_scopes;  // PARTS: the captured parts (Megatron's scope names)
  bool a2a_overlap = false;                // moe_a2a_overlap: Megatron's combined 1F1B
  bool fused_expert_mlp = false;           // cutedsl_fused_grouped_mlp: biases and clamp fused
  // fp8_dot_product_attention: attention in FP8 as well (MXFP8 under an MXFP8 recipe)
  bool fp8_attention = false;
  std::vector<std::string> recompute_modules;
  Dispatcher dispatcher = Dispatcher::NCCL_ALL_TO_ALL;
  // Megatron's --moe-shared-expert-overlap: on in the DeepSeek-V3 recipe unless a flex
  // dispatcher or the all-to-all overlap turns it off.
  bool shared_expert_overlap = false;
  // The SMs the dispatcher's all-to-all kernels hold while they run: those the run states
  // (stated_sms > 0), else the dispatcher's default in these recipes.
  int stated_sms = 0;
  int dispatcher_sms() const;
  // What its dispatch sends (ParallelPlan::dispatch_copies): Megatron-Core's alltoall dispatcher
  // permutes one row per (token, expert) and all-to-alls them (token_dispatcher.py: input_splits
  // sum the tokens per expert); DeepEP and Hybrid-EP send a token once per destination rank in
  // its node and once per other node over RDMA, forwarded over NVLink there (their normal
  // kernels, as models/ep_comm prices them: per_node_dedup).
  const char* dispatch_copies() const { return dispatcher == Dispatcher::NCCL_ALL_TO_ALL ? "per_expert" : "per_node"; }
};

// A row that states its own run's settings (params.recipe, for runs outside the release
// tables): {"graphs": "none" | "parts" | "step", "cuda_graph_scope": [...] (parts),
// "a2a_overlap": bool, "dispatcher": "alltoall" | "hybridep" | "deepep", "dispatcher_sms": n,
// "recompute_modules": [...], "fp8_attention": bool, "source": text}. Throws InputError naming
// the key.
BridgeRecipe stated_recipe(const PointParams& recipe, const std::string& model);

// The recipe of a row: its release (from the framework text, "... (NeMo 26.02)"), moesim's
// model and GPU preset names, the row's precision text and global batch. nullopt for a
// release, model or system the table does not hold.
std::optional<BridgeRecipe> megatron_bridge_recipe(const std::string& framework, const std::string& model,
                                                   const std::string& gpu, const std::string& precision,
                                                   int global_batch);

}  // namespace moesim::validation
