#pragma once
#include <functional>
#include <vector>

#include "hardware/registry.hpp"
#include "models/params.hpp"

namespace moesim {

// Where each expert's copies live. A "slot" is one copy of one expert on one EP rank; an
// expert with several slots (replicas) has its tokens split evenly among them.
struct Placement {
  int ep = 1;
  std::vector<int> first_slot;      // [expert]: slots of e are first_slot[e] .. first_slot[e + 1] - 1
  std::vector<int> rank_of_slot;
  std::vector<int> expert_of_slot;

  int experts() const { return int(first_slot.size()) - 1; }
  int slots() const { return int(rank_of_slot.size()); }
  int replicas(int expert) const { return first_slot[expert + 1] - first_slot[expert]; }
  std::vector<std::vector<int>> slots_of_rank() const;
};

// What a strategy may look at. Load statistics come from routing a sample of the same layer
// that is not the one being simulated (as a real deployment plans from past batches); they
// are computed only when a strategy asks.
struct LayerStatistics {
  std::vector<double> expert_load;   // rows per expert
  std::vector<double> coactivation;  // [a * experts + b]: tokens that chose both a and b (a != b)
};

struct PlacementInput {
  int experts = 0;
  int ep = 1;
  int ranks_per_node = 1;  // EP ranks that share a node (the EP group's ranks are node-major)
  std::function<const LayerStatistics&()> statistics;
};

using PlacementFactory = std::function<Placement(const Params&, const PlacementInput&)>;
const Registry<Component<PlacementFactory>>& placement_strategies();

// One slot per expert, on the given rank.
Placement placement_from_ranks(const std::vector<int>& rank_of_expert, int ep);
// Any number of slots per expert: ranks_of_expert[e] lists the rank of each copy.
Placement placement_from_replicas(const std::vector<std::vector<int>>& ranks_of_expert, int ep);

}  // namespace moesim
