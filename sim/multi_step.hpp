#pragma once
#include <functional>
#include <string>
#include <vector>

#include "sim/scenario.hpp"

namespace moesim {

// A scenario run for sim.steps training steps with the analytic estimator, as `moesim routers`
// and `moesim place` compare their choices: routing and placement carry over from step to
// step (scores drift, stateful routers learn, placements are re-planned), and a step that
// re-plans is charged the migration of the experts it moves.
struct StepSeriesSummary {
  std::string name;
  double drop_rate = 0;             // dropped / requested assignments, over all steps
  double unrouted_rate = 0;         // tokens that reached no expert / tokens, per MoE layer, over all steps
  double expert_max_over_mean = 0;  // mean over steps of the mean over layers
  double rank_max_over_mean = 0;    // the same for rows per EP rank
  double a2a_bytes_intra = 0;       // per step, cluster-wide, mean over steps
  double a2a_bytes_inter = 0;
  double step_time_p50_s = 0;
  double step_time_p99_s = 0;
  double migration_s = 0;           // summed over steps (included in the step times)
  std::vector<double> step_time_s;  // per step
};

// progress(step, steps) is called before each step.
StepSeriesSummary run_steps(const Scenario& scenario, const std::string& name,
                            const std::function<void(int, int)>& progress = {});

// Nearest-rank percentile (q in [0, 1]) of a non-empty list.
double percentile(std::vector<double> values, double q);

}  // namespace moesim
