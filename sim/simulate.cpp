#include "sim/simulate.hpp"

#include "hardware/topology.hpp"
#include "sim/estimator.hpp"
#include "sim/traffic.hpp"

namespace moesim {

StepResult simulate(const Scenario& scenario) {
  if (scenario.sim.engine == "des")
    throw NotAvailable("the discrete-event engine (SimGrid) is not available yet; use --engine analytic");
  const Topology topology(scenario.cluster);
  const RoutedStep routed = route_step(scenario, topology);
  return estimate_step(scenario, topology, routed);
}

}  // namespace moesim
