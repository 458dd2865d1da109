// The placement registry: one line per strategy.
#include "models/placement/placement.hpp"

namespace moesim {

Placement make_contiguous_placement(const Params&, int experts, int ep);

Placement placement_from_ranks(std::vector<int> ep_rank_of_expert, int ep) {
  Placement p;
  p.experts_of_rank.assign(ep, {});
  for (int e = 0; e < int(ep_rank_of_expert.size()); ++e) p.experts_of_rank[ep_rank_of_expert[e]].push_back(e);
  p.ep_rank_of_expert = std::move(ep_rank_of_expert);
  return p;
}

const Registry<Component<PlacementFactory>>& placement_strategies() {
  static const auto registry = [] {
    Registry<Component<PlacementFactory>> r("placement strategy");
    r.add("contiguous", "rank r hosts experts r*E/ep .. (r+1)*E/ep-1", {{}, make_contiguous_placement});
    return r;
  }();
  return registry;
}

}  // namespace moesim
