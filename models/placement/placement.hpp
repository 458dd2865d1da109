#pragma once
#include <functional>
#include <vector>

#include "hardware/registry.hpp"
#include "models/params.hpp"

namespace moesim {

// Which expert-parallel rank hosts each expert (one replica each for now).
struct Placement {
  std::vector<int> ep_rank_of_expert;
  std::vector<std::vector<int>> experts_of_rank;
};

using PlacementFactory = std::function<Placement(const Params&, int experts, int ep)>;
const Registry<Component<PlacementFactory>>& placement_strategies();

// Builds the reverse map from ep_rank_of_expert.
Placement placement_from_ranks(std::vector<int> ep_rank_of_expert, int ep);

}  // namespace moesim
