// Contiguous placement: rank r hosts experts [r*E/ep, (r+1)*E/ep), Megatron's and DeepSpeed's default.
#include "models/placement/placement.hpp"

namespace moesim {

Placement make_contiguous_placement(const Params&, const PlacementInput& in) {
  std::vector<int> rank_of(in.experts);
  const int per_rank = in.experts / in.ep;
  for (int e = 0; e < in.experts; ++e) rank_of[e] = e / per_rank;
  return placement_from_ranks(rank_of, in.ep);
}
std::vector<ParamSpec> contiguous_placement_params() { return {}; }

}  // namespace moesim
