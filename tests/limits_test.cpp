// Resource limits: a run that would exceed sim.max_memory_gib or sim.max_wall_s is refused
// before it starts, and a discrete-event run that exceeds one while running is stopped; the
// message names the limit.
#include <catch2/catch.hpp>

#include "hardware/topology.hpp"
#include "sim/des/des_engine.hpp"
#include "sim/limits.hpp"
#include "sim/simulate.hpp"
#include "tests/helpers.hpp"

using namespace moesim;
using namespace moesim::test;

namespace {

// 100,000 GPUs: 12,500 DGX H100 nodes, Mixtral with TP 8 and EP 8.
Scenario hundred_thousand_gpus(const std::string& engine) {
  return scenario(R"({"cluster": {"preset": "dgx-h100", "nodes": 12500}, "model": {"preset": "mixtral-8x7b"},
    "plan": {"dp": 12500, "tp": 8, "ep": 8, "micro_batches": 4, "seq_len": 4096},
    "sim": {"engine": ")" + engine + R"(", "max_memory_gib": 8, "max_wall_s": 120}})");
}

}  // namespace

TEST_CASE("limits: 100k GPUs run within the limits analytically and the des run is refused naming the limit", "[limits]") {
  const StepResult analytic = simulate(hundred_thousand_gpus("analytic"));
  CHECK(analytic.step_time_s > 0);
  CHECK(estimate_run(hundred_thousand_gpus("analytic")).memory_bytes < 8.0 * (1 << 30));
  CHECK_THROWS_WITH(simulate(hundred_thousand_gpus("des")),
                    Catch::Contains("sim.max_memory_gib = 8.0 GiB") && Catch::Contains("100000 GPUs simulated"));
}

TEST_CASE("limits: a run estimated beyond sim.max_wall_s is refused before it starts", "[limits]") {
  Scenario s = scenario(scenario_json(R"({"dp": 8, "ep": 8, "micro_batches": 2, "seq_len": 1024})"));
  s.sim.engine = "des";
  s.sim.max_wall_s = 1e-9;
  CHECK_THROWS_WITH(simulate(s), Catch::Contains("more than sim.max_wall_s"));
}

TEST_CASE("limits: a discrete-event run stops once it passes its wall-clock or memory limit", "[limits]") {
  Scenario s = scenario(scenario_json(R"({"dp": 64, "ep": 64, "micro_batches": 8, "seq_len": 1024})", R"({"capacity_factor": null})",
                                      R"({"alpha": 1.0})", R"({"preset": "olmoe-1b-7b"})", R"({"preset": "dgx-h100", "nodes": 8})"));
  s.sim.engine = "des";
  const Topology topology(s.cluster);
  const RoutedStep routed = route_step(s, topology);
  const StepProgram program = build_step_program(s, routed, ProgramScope::ALL_GPUS);
  const std::vector<char> traced(program.ops.size(), 0);
  SECTION("wall clock") {
    s.sim.max_wall_s = 1e-6;
    CHECK_THROWS_WITH(run_des(s, topology, program, traced, 1e-6),
                      Catch::Contains("ran longer than sim.max_wall_s"));
  }
  SECTION("memory") {
    s.sim.max_memory_gib = 1e-3;  // 1 MiB: passed at the first check
    CHECK_THROWS_WITH(run_des(s, topology, program, traced), Catch::Contains("more memory than sim.max_memory_gib"));
  }
  SECTION("within the limits") {
    s.sim.max_memory_gib = 16;
    CHECK(run_des(s, topology, program, traced, 600).timelines.size() == program.ops.size());
  }
}
