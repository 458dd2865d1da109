#pragma once
#include <vector>

#include "hardware/topology.hpp"
#include "sim/result.hpp"
#include "sim/scenario.hpp"
#include "sim/step_program.hpp"
#include "sim/timeline.hpp"
#include "sim/traffic.hpp"

namespace moesim {

// What an engine observed while timing a step program.
struct EngineRun {
  std::vector<GpuTimeline> timelines;  // per GPU of the program, in program.gpus order
  std::vector<LayerStraggler> stragglers;
  std::vector<LinkUsage> links;
  long peak_rss_bytes = 0;  // memory high-water mark of the process that ran the engine (des)
};

// The analytic engine: walks the step program with closed-form times for collectives and
// messages, each as if it ran alone on the fabric (the busiest port or spine uplink sets an
// all-to-all's time; ring all-reduce; one transfer per message). Dependencies still hold:
// a collective starts when its last member arrives, a receive waits for its send.
EngineRun run_analytic(const Scenario& scenario, const Topology& topology, const StepProgram& program,
                       const std::vector<char>& traced);

// Build the one-GPU-per-stage program of units from a routed step, walk it, summarise, for
// ranking many plans (plans per second in BENCHMARKS.md). Same figures as run_analytic on
// the ONE_GPU_PER_STAGE program, up to the rounding of sums taken in another order.
StepResult estimate_step(const Scenario& scenario, const Topology& topology, const RoutedStep& routed);

}  // namespace moesim
