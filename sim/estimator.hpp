#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <string>
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

// What the analytic engine keeps of a piece of a STAGE_UNITS program (one layer of a unit),
// per piece_key, for programs whose layers have the same shapes.
struct PieceTime {
  PartSeconds part_s{};
  struct Straggler {
    int layer = 0;
    int gpu_offset = 0;  // the absent straggler, from the GPU that runs the piece
    double lateness_s = 0;
  };
  std::vector<Straggler> stragglers;
};
struct PieceTimes {
  std::vector<char> known;
  std::vector<PieceTime> times;
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

// Ranks many plans of one scenario on one routed step, as estimate_step does, keeping the
// times of each layer's pieces for the next plan with the same layer shapes (TP, EP, ETP,
// micro-batch and sequence sizes, recomputation, shared-expert overlap and the SMs of its
// all-to-alls): a plan that changes only pp, vp, dp or the
// number of micro-batches builds no layer again. The routing must suit every plan asked for
// (the same EP group and tokens per GPU).
class PlanEstimator {
 public:
  PlanEstimator(Scenario base, const RoutedStep& routed);
  StepResult estimate(const ParallelPlan& plan);

 private:
  Scenario base_;
  const RoutedStep& routed_;
  std::map<std::string, PieceTimes> pieces_by_shape_;
  std::map<std::array<int, 4>, std::vector<int32_t>> unit_order_by_pipeline_;  // by (pp, vp, micro-batches, combined)
};

}  // namespace moesim
