#pragma once
#include <ostream>
#include <string>
#include <vector>

#include "cli/usage.hpp"

namespace moesim {

// `moesim routers [SCENARIO] --policies a,b,... [--steps N] [--out DIR]` and
// `moesim place [SCENARIO] --strategies a,b,... [--steps N] [--out DIR]`: the scenario once
// per choice, sim.steps steps each, one row per choice. A choice is a registered name with
// optional parameters: `topk:capacity_factor=1.0:drop_order=probs`.
enum class CompareWhat { ROUTERS, PLACEMENTS };
int compare_command(CompareWhat what, const std::vector<std::string>& args, std::ostream& out);

extern const char* const ROUTERS_USAGE;
extern const char* const PLACE_USAGE;

}  // namespace moesim
