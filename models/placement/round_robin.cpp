// Round-robin placement: expert e on rank e mod ep, so neighbouring expert ids (often trained
// alike) spread over ranks and nodes.
#include "models/placement/placement.hpp"

namespace moesim {

Placement make_round_robin_placement(const Params&, const PlacementInput& in) {
  std::vector<int> rank_of(in.experts);
  for (int e = 0; e < in.experts; ++e) rank_of[e] = e % in.ep;
  return placement_from_ranks(rank_of, in.ep);
}
std::vector<ParamSpec> round_robin_placement_params() { return {}; }

}  // namespace moesim
