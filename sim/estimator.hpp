#pragma once
#include "hardware/topology.hpp"
#include "models/cost_model.hpp"
#include "sim/result.hpp"
#include "sim/scenario.hpp"
#include "sim/traffic.hpp"

namespace moesim {

// The analytic critical path of one training step: per-layer closed forms over the routed
// loads, the slowest GPU of the EP group setting the pace, 1F1B pipelining, then gradient
// synchronisation and the optimizer step, nothing overlapped. Microseconds per plan.
StepResult estimate_step(const Scenario& scenario, const Topology& topology, const RoutedStep& routed);

}  // namespace moesim
