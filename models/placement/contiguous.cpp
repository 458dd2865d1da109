// Contiguous placement: rank r hosts experts [r*E/ep, (r+1)*E/ep), Megatron's and DeepSpeed's default.
#include "models/placement/placement.hpp"

namespace moesim {

Placement make_contiguous_placement(const Params&, int experts, int ep) {
  std::vector<int> rank_of(experts);
  const int per_rank = experts / ep;
  for (int e = 0; e < experts; ++e) rank_of[e] = e / per_rank;
  return placement_from_ranks(std::move(rank_of), ep);
}

}  // namespace moesim
