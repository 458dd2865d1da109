#include "sim/simulate.hpp"

#include "hardware/topology.hpp"
#include "sim/des/des_engine.hpp"
#include "sim/estimator.hpp"
#include "sim/limits.hpp"
#include "sim/step_summary.hpp"

namespace moesim {

Simulation simulate_step(const Scenario& scenario) {
  check_run_fits_limits(scenario);
  const WallBudget budget(scenario);
  const Topology topology(scenario.cluster);
  Simulation sim;
  sim.routed = std::make_shared<const RoutedStep>(route_step(scenario, topology));
  budget.check("routing");
  const bool des = scenario.sim.engine == "des";
  sim.program = build_step_program(scenario, *sim.routed, des ? ProgramScope::ALL_GPUS : ProgramScope::ONE_GPU_PER_STAGE);
  budget.check("building the step program");
  const std::vector<char> traced = traced_gpus(sim.program, scenario.sim.trace_gpus_per_stage);
  EngineRun run = des ? run_des(scenario, topology, sim.program, traced, budget.left_s())
                      : run_analytic(scenario, topology, sim.program, traced);
  budget.check("the engine");
  sim.result = summarize_step(scenario, *sim.routed, run.timelines, std::move(run.stragglers));
  sim.result.links = std::move(run.links);
  sim.timelines = std::move(run.timelines);
  return sim;
}

}  // namespace moesim
