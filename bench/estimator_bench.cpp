// moesim's own speed: how many plans per second the analytic estimator ranks.
// The routing of a plan's EP group is computed once (route_step) and reused by every plan
// that shares its EP layout and tokens per GPU, as a plan search does; BM_RouteStep times
// that routing separately.
#include <benchmark/benchmark.h>

#include "hardware/topology.hpp"
#include "sim/estimator.hpp"
#include "sim/scenario.hpp"
#include "sim/step_summary.hpp"
#include "sim/traffic.hpp"

namespace {

using namespace moesim;

// DeepSeek-V3 on 256 HGX H800 nodes (2048 GPUs), EP 64 across 8 nodes.
const char* DEEPSEEK_2048 = R"({
  "cluster": {"preset": "hgx-h800", "nodes": 256},
  "model": {"preset": "deepseek-v3"},
  "plan": {"dp": 128, "tp": 1, "pp": 16, "ep": 64, "micro_batch_size": 1, "micro_batches": 32, "seq_len": 4096},
  "router": {"policy": "topk", "capacity_factor": null},
  "scores": {"alpha": 1.0, "seed": 7},
  "sim": {"routed_micro_batches": 1}
})";

struct Fixture {
  Scenario scenario = parse_scenario(DEEPSEEK_2048, "bench");
  Topology topology{scenario.cluster};
  RoutedStep routed = route_step(scenario, topology);
  // Plans that keep the EP group and tokens per GPU: pp x micro-batches, dp = 2048 / pp.
  std::vector<ParallelPlan> plans;
  // Interleaved (vp 2) plans of the same kind, in the combined order (overlap_ep_comm) or not.
  std::vector<ParallelPlan> interleaved, combined;
  // The first list with ZeRO-1 and overlapped gradient reduce, as Megatron's MoE recipes run:
  // each stage's first forward (it waits for the weights' all-gathers) and last backward (it
  // starts the gradient syncs) are walked op by op.
  std::vector<ParallelPlan> zero1;
  Fixture() {
    for (int pp : {4, 8, 16, 32})
      for (int mb : {8, 16, 32, 64, 128}) {
        ParallelPlan p = scenario.plan;
        p.pp = pp;
        p.dp = scenario.cluster.gpus() / pp;
        p.micro_batches = mb;
        plans.push_back(p);
        ParallelPlan z = p;
        z.distributed_optimizer = z.overlap_grad_reduce = true;
        zero1.push_back(z);
        if (pp == 32 || mb < pp) continue;  // 64 virtual stages > 61 layers; groups of pp micro-batches
        p.vp = 2;
        interleaved.push_back(p);
        p.overlap_ep_comm = true;
        combined.push_back(p);
      }
  }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

// Times `estimate(scenario)` over plans in turn (the fixture's first list unless given), one
// plan per iteration.
template <class Estimate>
void time_plans(benchmark::State& state, Estimate estimate, const std::vector<ParallelPlan>* plans = nullptr) {
  Fixture& f = fixture();
  if (!plans) plans = &f.plans;
  Scenario s = f.scenario;
  size_t i = 0;
  for (auto _ : state) {
    s.plan = (*plans)[i++ % plans->size()];
    StepResult r = estimate(s);
    benchmark::DoNotOptimize(r.step_time_s);
  }
  state.counters["plans_per_s"] = benchmark::Counter(double(state.iterations()), benchmark::Counter::kIsRate);
}

// As plan search ranks them: one PlanEstimator per routing, so each layer's times are
// computed for the first plan of its shape (here: the first plan) and kept.
void BM_EstimatePlan(benchmark::State& state) {
  PlanEstimator estimator(fixture().scenario, fixture().routed);
  time_plans(state, [&](const Scenario& s) { return estimator.estimate(s.plan); });
}
BENCHMARK(BM_EstimatePlan)->Unit(benchmark::kMicrosecond);

// Interleaved plans, and the same in the combined order, whose pairs of units are built as
// merged ops for every plan (their pieces are not kept).
void BM_EstimatePlanInterleaved(benchmark::State& state) {
  PlanEstimator estimator(fixture().scenario, fixture().routed);
  time_plans(state, [&](const Scenario& s) { return estimator.estimate(s.plan); }, &fixture().interleaved);
}
BENCHMARK(BM_EstimatePlanInterleaved)->Unit(benchmark::kMicrosecond);

void BM_EstimatePlanCombined(benchmark::State& state) {
  PlanEstimator estimator(fixture().scenario, fixture().routed);
  time_plans(state, [&](const Scenario& s) { return estimator.estimate(s.plan); }, &fixture().combined);
}
BENCHMARK(BM_EstimatePlanCombined)->Unit(benchmark::kMicrosecond);

void BM_EstimatePlanZero1(benchmark::State& state) {
  PlanEstimator estimator(fixture().scenario, fixture().routed);
  time_plans(state, [&](const Scenario& s) { return estimator.estimate(s.plan); }, &fixture().zero1);
}
BENCHMARK(BM_EstimatePlanZero1)->Unit(benchmark::kMicrosecond);

// Each plan on its own (estimate_step): every layer's pieces built and timed again.
void BM_EstimatePlanAlone(benchmark::State& state) {
  time_plans(state, [](const Scenario& s) { return estimate_step(s, fixture().topology, fixture().routed); });
}
BENCHMARK(BM_EstimatePlanAlone)->Unit(benchmark::kMicrosecond);

// The same plans walked op by op (every unit of every micro-batch built), as `moesim run`
// does with the analytic engine: the baseline of the ratio in BENCHMARKS.md.
void BM_EstimatePlanEveryOp(benchmark::State& state) {
  time_plans(state, [](const Scenario& s) {
    const StepProgram program = build_step_program(s, fixture().routed, ProgramScope::ONE_GPU_PER_STAGE);
    EngineRun run = run_analytic(s, fixture().topology, program, std::vector<char>(program.ops.size(), 0));
    return summarize_step(s, fixture().routed, run.timelines, std::move(run.stragglers));
  });
}
BENCHMARK(BM_EstimatePlanEveryOp)->Unit(benchmark::kMicrosecond);

void BM_RouteStep(benchmark::State& state) {
  Fixture& f = fixture();
  for (auto _ : state) {
    RoutedStep r = route_step(f.scenario, f.topology);
    benchmark::DoNotOptimize(r.layers.size());
  }
}
BENCHMARK(BM_RouteStep)->Unit(benchmark::kMillisecond)->Iterations(1);

void BM_BuildTopology(benchmark::State& state) {
  Fixture& f = fixture();
  for (auto _ : state) {
    Topology t(f.scenario.cluster);
    benchmark::DoNotOptimize(t.leaves());
  }
}
BENCHMARK(BM_BuildTopology)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
