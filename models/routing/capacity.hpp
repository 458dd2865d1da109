#pragma once
#include <optional>
#include <vector>

#include "models/params.hpp"
#include "models/routing/router.hpp"

namespace moesim {

// The second half of every token-choice policy: each token has asked for its experts
// (TokenChoices); each expert keeps at most C = ceil(capacity_factor * tokens * top_k / experts)
// of the assignments it got. Which ones win when an expert is full:
//   position:       earlier tokens first, every token's first choice before any second choice
//                   (GShard);
//   probs:          the highest router scores first;
//   batch_priority: position order over tokens sorted by their top-1 score (V-MoE's
//                   batch-prioritized routing), so confident tokens are kept.
// An expert id of -1 in TokenChoices is a choice the policy did not make (nothing asked).
enum class DropOrder { POSITION, PROBS, BATCH_PRIORITY };

struct CapacityRule {
  std::optional<double> capacity_factor;  // none: no limit (dropless)
  DropOrder order = DropOrder::POSITION;
  // Every expert filled up to its capacity with padding rows (GShard, Switch, Megatron-Core's
  // --moe-pad-expert-input-to-capacity): static shapes, so its compute and its dispatch are C
  // rows per expert from each source whatever was accepted (GroupRouting::padded_capacity).
  bool pad_to_capacity = false;
  bool needs_scores() const { return capacity_factor && order != DropOrder::POSITION; }
};

// The two declared parameters, with the policy's default capacity factor (null = dropless).
std::vector<ParamSpec> capacity_params(std::optional<double> default_capacity_factor);
CapacityRule capacity_rule(const Params& params);

// Fills `out` (reset first) with the accepted assignments, one item per token.
void accept_with_capacity(const TokenChoices& choices, const CapacityRule& rule, int experts, GroupRouting& out);

}  // namespace moesim
