// An explicit map: `ranks` lists, for each expert in order, the EP rank that hosts it.
#include <string>

#include "hardware/input_error.hpp"
#include "models/placement/placement.hpp"

namespace moesim {

Placement make_explicit_placement(const Params& params, const PlacementInput& in) {
  const std::vector<double>& ranks = params.numbers("ranks");
  if (int(ranks.size()) != in.experts)
    throw InputError("placement.ranks lists " + std::to_string(ranks.size()) + " ranks; the model has " +
                     std::to_string(in.experts) + " experts (one rank per expert)");
  std::vector<int> rank_of(in.experts);
  for (int e = 0; e < in.experts; ++e) {
    rank_of[e] = int(ranks[e]);
    if (rank_of[e] >= in.ep)
      throw InputError("placement.ranks[" + std::to_string(e) + "] = " + std::to_string(rank_of[e]) +
                       " is not an EP rank (plan.ep = " + std::to_string(in.ep) + ")");
  }
  return placement_from_ranks(rank_of, in.ep);
}

std::vector<ParamSpec> explicit_placement_params() {
  ParamSpec ranks{"ranks", ParamKind::INTEGER_LIST, std::vector<double>{},
                  "EP rank of each expert, in expert order (as many entries as the model has experts)"};
  ranks.inclusive_min = 0.0;
  return {ranks};
}

}  // namespace moesim
