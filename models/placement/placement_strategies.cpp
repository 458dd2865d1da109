// The placement registry: one line per strategy.
#include "models/placement/placement.hpp"

namespace moesim {

#define MOESIM_PLACEMENT(name)                                         \
  Placement make_##name##_placement(const Params&, const PlacementInput&); \
  std::vector<ParamSpec> name##_placement_params();
MOESIM_PLACEMENT(contiguous)
MOESIM_PLACEMENT(round_robin)
MOESIM_PLACEMENT(eplb_hierarchical)
MOESIM_PLACEMENT(eplb_global)
MOESIM_PLACEMENT(coactivation)
MOESIM_PLACEMENT(explicit)
#undef MOESIM_PLACEMENT

Placement placement_from_replicas(const std::vector<std::vector<int>>& ranks_of_expert, int ep) {
  Placement p;
  p.ep = ep;
  p.first_slot.push_back(0);
  for (size_t e = 0; e < ranks_of_expert.size(); ++e) {
    for (int rank : ranks_of_expert[e]) {
      p.rank_of_slot.push_back(rank);
      p.expert_of_slot.push_back(int(e));
    }
    p.first_slot.push_back(p.slots());
  }
  return p;
}

Placement placement_from_ranks(const std::vector<int>& rank_of_expert, int ep) {
  std::vector<std::vector<int>> ranks;
  for (int r : rank_of_expert) ranks.push_back({r});
  return placement_from_replicas(ranks, ep);
}

std::vector<std::vector<int>> Placement::slots_of_rank() const {
  std::vector<std::vector<int>> out(ep);
  for (int s = 0; s < slots(); ++s) out[rank_of_slot[s]].push_back(s);
  return out;
}

const Registry<Component<PlacementFactory>>& placement_strategies() {
  static const auto registry = [] {
    Registry<Component<PlacementFactory>> r("placement strategy");
    r.add("contiguous", "rank r hosts experts r*E/ep .. (r+1)*E/ep-1 (Megatron, DeepSpeed)",
          {contiguous_placement_params(), make_contiguous_placement});
    r.add("round_robin", "expert e on rank e mod ep", {round_robin_placement_params(), make_round_robin_placement});
    r.add("eplb_hierarchical", "DeepSeek EPLB: groups packed to nodes, hot experts replicated, replicas packed to GPUs",
          {eplb_hierarchical_placement_params(), make_eplb_hierarchical_placement});
    r.add("eplb_global", "DeepSeek EPLB global policy: replicate hot experts, pack all replicas over all GPUs",
          {eplb_global_placement_params(), make_eplb_global_placement});
    r.add("coactivation", "experts often chosen by the same token placed on the same node (graph partitioning)",
          {coactivation_placement_params(), make_coactivation_placement});
    r.add("explicit", "the expert-to-rank map given as a list", {explicit_placement_params(), make_explicit_placement});
    return r;
  }();
  return registry;
}

}  // namespace moesim
