#pragma once
#include <ostream>

#include "sim/result.hpp"
#include "sim/scenario.hpp"

namespace moesim {

// The human-readable summary printed by `moesim run` and `moesim estimate`.
void print_summary(std::ostream& out, const StepResult& result, const Scenario& scenario);

}  // namespace moesim
