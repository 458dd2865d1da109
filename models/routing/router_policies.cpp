// The router-policy registry: one line per policy.
#include "models/routing/router.hpp"

namespace moesim {

#define MOESIM_ROUTER(name)                                                      \
  std::unique_ptr<RouterPolicy> make_##name##_router(const Params&, const RouterSetup&); \
  std::vector<ParamSpec> name##_params();
MOESIM_ROUTER(topk)
MOESIM_ROUTER(expert_choice)
MOESIM_ROUTER(base)
MOESIM_ROUTER(hash)
MOESIM_ROUTER(node_limited)
MOESIM_ROUTER(loss_free_bias)
MOESIM_ROUTER(dropless)
MOESIM_ROUTER(soft_moe)
MOESIM_ROUTER(multi_head)
MOESIM_ROUTER(prototype)
MOESIM_ROUTER(per_image)
#undef MOESIM_ROUTER

const Registry<Component<RouterFactory>>& router_policies() {
  static const auto registry = [] {
    Registry<Component<RouterFactory>> r("router policy");
    r.add("topk", "token-choice top-k with expert capacity and token dropping (Switch, GShard, V-MoE BPR)",
          {topk_params(), make_topk_router});
    r.add("expert_choice", "each expert takes its top-C tokens; every expert full, tokens may get none (Zhou 2022)",
          {expert_choice_params(), make_expert_choice_router});
    r.add("base", "balanced linear assignment by auction: every expert exactly tokens/experts (BASE layers)",
          {base_params(), make_base_router});
    r.add("hash", "experts a fixed hash of Zipf-distributed token ids (Hash layers)", {hash_params(), make_hash_router});
    r.add("node_limited", "top-k within the top-M expert groups (nodes) by top-2 affinity (DeepSeek-V2/V3)",
          {node_limited_params(), make_node_limited_router});
    r.add("loss_free_bias", "top-k on logits plus a per-expert bias nudged toward balance each step (DeepSeek-V3)",
          {loss_free_bias_params(), make_loss_free_bias_router});
    r.add("dropless", "top-k without capacity, expert rows padded to a block (MegaBlocks)",
          {dropless_params(), make_dropless_router});
    r.add("soft_moe", "experts process slots, each a mix of all tokens; no drops, dense mixing (Soft MoE)",
          {soft_moe_params(), make_soft_moe_router});
    r.add("multi_head", "each token split into h sub-tokens routed independently (multi-head MoE)",
          {multi_head_params(), make_multi_head_router});
    r.add("prototype", "experts in k groups, top-1 in each (M6-T expert prototyping)",
          {prototype_params(), make_prototype_router});
    r.add("per_image", "one decision per image that all its patches follow (Mobile V-MoE)",
          {per_image_params(), make_per_image_router});
    return r;
  }();
  return registry;
}

}  // namespace moesim
