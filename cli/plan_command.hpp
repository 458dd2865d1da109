#pragma once
#include <ostream>
#include <string>
#include <vector>

#include "cli/usage.hpp"

namespace moesim {

extern const char* const PLAN_USAGE;

// `moesim plan [SCENARIO] [--gpus N] [--top K] [--refine R] [--out DIR]`: the plans that divide
// the cluster, ranked by the analytic step time, the top R re-run on the discrete-event
// engine; a table of the top K with why each ranks where it does, the rejected plans counted
// by reason; --out writes plan.json, plan.csv and report.html.
int plan_command(const std::vector<std::string>& args, std::ostream& out);

}  // namespace moesim
