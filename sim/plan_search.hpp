#pragma once
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sim/result.hpp"
#include "sim/scenario.hpp"

namespace moesim {

// Every plan (dp, tp, cp, pp, vp, ep, etp; micro-batches that keep the scenario's global batch) that
// divides the cluster, ranked by the analytic estimate of its step; plans that cannot run or
// do not fit in HBM are counted by reason. The routing of each EP layout is computed once and
// shared by the plans that have it.
struct PlanCandidate {
  ParallelPlan plan;
  StepResult analytic;
  std::optional<StepResult> des;  // the discrete-event refinement, for the top plans
};

struct PlanSearch {
  std::vector<PlanCandidate> ranked;        // runnable and fitting, fastest analytic step first
  std::map<std::string, int> rejected;      // reason -> plans
  int enumerated = 0;
  int routings = 0;                         // distinct EP layouts routed
  int routed_layers = 0;                    // MoE layers routed token by token per layout
  int max_cp = 1;                           // largest context-parallel degree enumerated
  // Top plans left without a discrete-event run because it would have overrun the budget:
  // (rank from 0, its run's estimated wall time).
  std::vector<std::pair<size_t, double>> refine_skipped;
};

struct PlanSearchOptions {
  int refine = 0;                           // top plans re-run with the discrete-event engine
  // Largest context-parallel degree tried; 0: cp up to where each CP rank keeps
  // MIN_TOKENS_PER_CP_RANK tokens of a sequence (default_max_cp).
  int max_cp = 0;
  // Wall time the refinement may take, by estimate_run's estimate of each run (sim/limits.hpp):
  // a plan whose run would take the total past it is skipped and listed in refine_skipped.
  double refine_budget_s = std::numeric_limits<double>::infinity();
  std::function<void(double done, double total, const std::string& what)> progress;
};

PlanSearch search_plans(const Scenario& scenario, const PlanSearchOptions& options);

// One line on why candidate `i` ranks where it does against its neighbour (the runner-up for
// the first, the first for the others): the step-time part that differs most.
std::string why_it_ranks(const PlanSearch& search, size_t i);

std::string plan_label(const ParallelPlan& plan);

// Context parallelism is for long sequences: by default the search splits a sequence only
// while each CP rank keeps at least this many of its tokens (below it, attention's core is
// too short to hide the ring, and the enumeration would grow for plans that rarely win).
constexpr int MIN_TOKENS_PER_CP_RANK = 4096;
int default_max_cp(int seq_len);

}  // namespace moesim
