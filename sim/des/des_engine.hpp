#pragma once
#include <limits>
#include <vector>

#include "hardware/topology.hpp"
#include "sim/estimator.hpp"
#include "sim/scenario.hpp"
#include "sim/step_program.hpp"

namespace moesim {

// The discrete-event engine: the step program on the SimGrid platform of the cluster.
// Each GPU is an actor that runs its ops in order: compute as executions on its host
// (durations from the cost model), collectives through a collective algorithm whose
// phases run as transfers on the modeled links (max-min sharing with everything else in
// flight), pipeline messages as transfers between stages. Timing emerges from contention
// and dependencies.
//
// SimGrid allows one engine per process, so each run happens in a forked child process
// that sends its observations back; callers may run it any number of times. The child
// stops after wall_limit_s or once its resident memory passes the scenario's memory limit
// (memory_limit_bytes), and the call throws ResourceLimit naming the limit.
EngineRun run_des(const Scenario& scenario, const Topology& topology, const StepProgram& program,
                  const std::vector<char>& traced,
                  double wall_limit_s = std::numeric_limits<double>::infinity());

}  // namespace moesim
