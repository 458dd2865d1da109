// Multi-token prediction modules (model.mtp_layers) and uneven pipeline layouts
// (plan.pipeline_layout): what they add to a step, and where.
#include <catch2/catch.hpp>

#include "sim/simulate.hpp"
#include "tests/helpers.hpp"

using namespace moesim;
using namespace moesim::test;

namespace {

// Mixtral-8x7B cut to 4 identical MoE layers on one DGX H100, routed evenly (force-balanced),
// with a small vocabulary so that the output layer weighs little beside a layer.
Scenario small(const std::string& plan) {
  return scenario(scenario_json(plan, R"({"policy": "topk"})", R"({"alpha": 1e6, "seed": 0})",
                                R"({"preset": "mixtral-8x7b", "layers": 4, "vocab": 1024})",
                                R"({"preset": "dgx-h100", "nodes": 1})"));
}

}  // namespace

TEST_CASE("MTP: model FLOPs gain each module's projection, a layer like the last and the output layer", "[mtp]") {
  Scenario s = small(R"({"dp": 8, "ep": 8, "micro_batches": 2, "seq_len": 1024})");
  const StepResult without = simulate(s);
  s.model.mtp_layers = 1;
  const StepResult with = simulate(s);
  // Per token and forward (the model FLOPs are 3 x forward): 4 identical layers and the output
  // layer 2 h V make F0; the module adds 2 (2h) h + F0's layer (F0 - 2 h V) / 4 + 2 h V.
  const double tokens = s.plan.tokens_per_step(), h = s.model.d_model, output = 2.0 * h * s.model.vocab;
  const double f0 = without.model_flops_per_step / (3 * tokens);
  CHECK(with.model_flops_per_step / (3 * tokens) - f0 == Approx(4 * h * h + (f0 - output) / 4 + output));
  // The step runs one more MoE layer per micro-batch: its all-to-alls are 5/4 of the model's.
  CHECK(part(with, "dispatch") == Approx(part(without, "dispatch") * 5 / 4).epsilon(0.01));
  CHECK(part(with, "expert_compute") == Approx(part(without, "expert_compute") * 5 / 4).epsilon(0.01));
  CHECK(with.step_time_s > without.step_time_s);
  // Both engines run the module (its layer's collectives are their own).
  s.sim.engine = "des";
  CHECK(simulate(s).step_time_s == Approx(with.step_time_s).epsilon(0.05));
}

TEST_CASE("pipeline layout: an even layout is the default split, an uneven one waits on its heaviest stage",
          "[plan]") {
  const std::string base = R"({"dp": 4, "pp": 2, "ep": 4, "micro_batches": 16, "seq_len": 1024)";
  const StepResult even = simulate(small(base + "}"));
  const StepResult stated_even = simulate(small(base + R"(, "pipeline_layout": [2, 2]})"));
  CHECK(stated_even.step_time_s == even.step_time_s);
  // 16 micro-batches through 2 stages: the step is about (16 + 1) times the slower stage's
  // time per micro-batch, 3 layers against 2.
  for (const char* layout : {"[3, 1]", "[1, 3]"}) {
    INFO(layout);
    const StepResult uneven = simulate(small(base + R"(, "pipeline_layout": )" + layout + "}"));
    CHECK(uneven.step_time_s > 1.3 * even.step_time_s);
    CHECK(uneven.step_time_s < 1.55 * even.step_time_s);
  }
  // An MTP module on the last stage is balanced by one layer fewer there.
  Scenario with_mtp = small(base + R"(, "pipeline_layout": [3, 1]})");
  with_mtp.model.mtp_layers = 1;
  Scenario unbalanced = small(base + "}");
  unbalanced.model.mtp_layers = 1;
  CHECK(simulate(with_mtp).step_time_s < simulate(unbalanced).step_time_s);
}
