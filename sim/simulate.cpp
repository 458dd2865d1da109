#include "sim/simulate.hpp"

#include "hardware/topology.hpp"
#include "sim/des/des_engine.hpp"
#include "sim/estimator.hpp"
#include "sim/step_summary.hpp"

namespace moesim {

Simulation simulate_step(const Scenario& scenario) {
  const Topology topology(scenario.cluster);
  Simulation sim;
  sim.routed = std::make_shared<const RoutedStep>(route_step(scenario, topology));
  const bool des = scenario.sim.engine == "des";
  sim.program = build_step_program(scenario, *sim.routed, des ? ProgramScope::ALL_GPUS : ProgramScope::ONE_GPU_PER_STAGE);
  const std::vector<char> traced = traced_gpus(sim.program, scenario.sim.trace_gpus_per_stage);
  EngineRun run = des ? run_des(scenario, topology, sim.program, traced) : run_analytic(scenario, topology, sim.program, traced);
  sim.result = summarize_step(scenario, *sim.routed, run.timelines, std::move(run.stragglers));
  sim.result.links = std::move(run.links);
  sim.timelines = std::move(run.timelines);
  return sim;
}

}  // namespace moesim
