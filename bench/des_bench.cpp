// The discrete-event engine's speed and memory: one MoE layer's dispatch + combine at
// growing GPU counts (grouped parallel tasks against one flow per GPU pair, the baseline,
// where the baseline finishes in minutes), and a full DeepSeek-V3 training step on 2048
// H800. Each simulation runs in its own forked process (SimGrid's one engine per
// process); peak_rss_MB is that process's high-water mark, which includes the parent's
// pages it touched (the routed step it simulates).
#include <benchmark/benchmark.h>

#include <string>

#include "hardware/topology.hpp"
#include "sim/des/des_engine.hpp"
#include "sim/scenario.hpp"
#include "sim/simulate.hpp"
#include "sim/step_program.hpp"
#include "sim/traffic.hpp"

namespace {

using namespace moesim;

// One DeepSeek-V3-shaped MoE layer with as many experts as GPUs (one each), EP over the
// whole cluster, 4096 tokens per GPU, skewed routing (Dirichlet alpha 1).
Scenario one_layer(int gpus, const std::string& transfers, const std::string& algorithm) {
  const std::string text = R"({
    "cluster": {"preset": "hgx-h800", "nodes": )" + std::to_string(gpus / 8) + R"(},
    "model": {"preset": "deepseek-v3", "layers": 1, "first_dense_layers": 0, "experts": )" + std::to_string(gpus) + R"(},
    "plan": {"dp": )" + std::to_string(gpus) + R"(, "ep": )" + std::to_string(gpus) + R"(, "micro_batches": 1, "seq_len": 4096},
    "router": {"policy": "topk", "capacity_factor": null},
    "scores": {"alpha": 1.0, "seed": 7},
    "sim": {"engine": "des", "transfers": ")" + transfers + R"(", "all_to_all": ")" + algorithm + R"("}
  })";
  return parse_scenario(text, "bench");
}

// Keeps only the forward dispatch and combine of the step program.
StepProgram dispatch_and_combine(StepProgram program) {
  for (auto& ops : program.ops)
    std::erase_if(ops, [](const Op& op) {
      return op.kind != OpKind::COLLECTIVE || op.backward || (op.part != Part::DISPATCH && op.part != Part::COMBINE);
    });
  return program;
}

void BM_DesDispatchCombine(benchmark::State& state, const std::string& transfers, const std::string& algorithm) {
  const int gpus = int(state.range(0));
  const Scenario s = one_layer(gpus, transfers, algorithm);
  const Topology topology(s.cluster);
  const RoutedStep routed = route_step(s, topology);
  const StepProgram program = dispatch_and_combine(build_step_program(s, routed, ProgramScope::ALL_GPUS));
  const std::vector<char> traced(program.ops.size(), 0);
  EngineRun run;
  for (auto _ : state) run = run_des(s, topology, program, traced);
  double simulated = 0;
  for (const GpuTimeline& t : run.timelines) simulated = std::max(simulated, t.end_s);
  state.counters["peak_rss_MB"] = run.peak_rss_bytes / 1e6;
  state.counters["simulated_ms"] = simulated * 1e3;
}

void BM_DesTrainingStep_DeepSeekV3_2048xH800(benchmark::State& state) {
  Scenario s = load_scenario_file(MOESIM_SOURCE_DIR "/scenarios/deepseek-v3-2048xh800.json");
  s.sim.engine = "des";
  Simulation sim;
  for (auto _ : state) sim = simulate_step(s);
  state.counters["simulated_step_s"] = sim.result.step_time_s;
  state.counters["analytic_step_s"] = [&] {
    s.sim.engine = "analytic";
    return simulate(s).step_time_s;
  }();
}

// Per pair at 128 GPUs ran for more than 6 minutes before it was stopped.
BENCHMARK_CAPTURE(BM_DesDispatchCombine, per_pair_flat, std::string("per_pair"), std::string("flat"))
    ->Arg(32)->Arg(64)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();
// Flat all-to-alls group each source rail's transfers into one parallel task; SimGrid's
// System::expand is linear in a task's links per element added, so creating such a task
// grows with transfers x links: flat at 2048 GPUs is left out (minutes).
BENCHMARK_CAPTURE(BM_DesDispatchCombine, grouped_flat, std::string("grouped"), std::string("flat"))
    ->Arg(32)->Arg(64)->Arg(256)->Arg(1024)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();
BENCHMARK_CAPTURE(BM_DesDispatchCombine, grouped_hierarchical, std::string("grouped"), std::string("hierarchical"))
    ->Arg(32)->Arg(64)->Arg(256)->Arg(1024)->Arg(2048)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();
BENCHMARK(BM_DesTrainingStep_DeepSeekV3_2048xH800)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();

}  // namespace
