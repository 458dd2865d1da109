// The analytic step: breakdown consistency, determinism, memory and pipeline behaviour.
#include <catch2/catch.hpp>

#include <numeric>

#include "hardware/topology.hpp"
#include "sim/estimator.hpp"
#include "sim/result_json.hpp"
#include "sim/simulate.hpp"
#include "tests/helpers.hpp"

using namespace moesim;
using namespace moesim::test;

TEST_CASE("breakdown parts sum to the step time", "[estimator]") {
  const Scenario s = default_scenario();
  const StepResult r = simulate(s);
  double total = 0;
  for (const auto& [name, seconds] : r.breakdown_s) {
    CHECK(seconds >= 0);
    total += seconds;
  }
  CHECK(total == Approx(r.step_time_s).epsilon(1e-12));
  CHECK(r.mfu > 0);
  CHECK(r.mfu < 1);
  CHECK(r.tokens_per_s == Approx(s.plan.tokens_per_step() / r.step_time_s));
}

TEST_CASE("per-step token accounting: routed + dropped = tokens x k x MoE layers", "[estimator]") {
  const Scenario s = default_scenario();
  const StepResult r = simulate(s);
  CHECK(r.tokens_routed + r.tokens_dropped ==
        Approx(s.plan.tokens_per_step() * s.model.top_k * s.model.moe_layers()).epsilon(1e-12));
}

TEST_CASE("the same seed gives byte-identical result.json and another seed does not", "[estimator]") {
  const std::string text = scenario_json(R"({"dp": 8, "ep": 8, "micro_batches": 2, "seq_len": 1024})",
                                         R"({"capacity_factor": 1.0})", R"({"alpha": 0.5, "seed": 42})");
  const auto dump = [](const std::string& t) {
    const Scenario s = scenario(t);
    return result_to_json(simulate(s), s).dump();
  };
  const std::string first = dump(text);
  CHECK(first == dump(text));
  std::string other = text;
  other.replace(other.find("\"seed\": 42"), 10, "\"seed\": 43");
  CHECK(first != dump(other));
}

TEST_CASE("skewed routing shows up as straggler wait and even routing almost none", "[estimator]") {
  const auto straggler_share = [](const std::string& scores) {
    const Scenario s = scenario(scenario_json(R"({"dp": 8, "ep": 8, "seq_len": 2048})", R"({"capacity_factor": null})", scores,
                                              R"({"preset": "olmoe-1b-7b"})"));
    const StepResult r = simulate(s);
    for (const auto& [name, seconds] : r.breakdown_s)
      if (name == "straggler_wait") return seconds / r.step_time_s;
    return -1.0;
  };
  const double skewed = straggler_share(R"({"alpha": 0.2, "seed": 1})");
  const double even = straggler_share(R"({"alpha": 1e6, "noise": 1e3, "seed": 1})");
  CHECK(skewed > 0.05);
  CHECK(even < 0.02);
  CHECK(skewed > 5 * even);
}

TEST_CASE("1F1B bubble: (pp - 1) stage times and more micro-batches amortise it", "[estimator]") {
  const auto bubble_share = [](int micro_batches) {
    const Scenario s = scenario(scenario_json(
        R"({"dp": 2, "pp": 4, "ep": 2, "seq_len": 1024, "micro_batches": )" + std::to_string(micro_batches) + "}",
        R"({"capacity_factor": null})", R"({"alpha": 1e6, "noise": 1e3})",
        // Equal stages: a tiny output layer, so that the last stage is no slower than the others.
        R"({"preset": "mixtral-8x7b", "vocab": 8})",
        // Free links: pipeline messages take no time, so only the schedule's bubble remains.
        R"({"preset": "dgx-h100", "nodes": 1, "nvlink_GBps": 1e9, "nvlink_latency_us": 0})"));
    const StepResult r = simulate(s);
    double bubble = 0, steady = 0;
    for (const auto& [name, seconds] : r.breakdown_s) {
      if (name == "pipeline_bubble") bubble = seconds;
      else if (name != "grad_sync" && name != "optimizer") steady += seconds;
    }
    // Near-uniform routing: bubble / steady = (pp - 1) / micro_batches. Sampling noise still
    // gives a GPU an extra GEMM tile in some micro-batches, which the pipeline turns into
    // small waits: 5 % tolerance.
    CHECK(bubble / steady == Approx(3.0 / micro_batches).epsilon(0.05));
    return bubble / r.step_time_s;
  };
  CHECK(bubble_share(16) < bubble_share(4));
}

TEST_CASE("memory: a plan that does not fit is reported and more sharding fits", "[estimator]") {
  // DeepSeek-V3 on 8 GPUs cannot hold 671B parameters x 18 bytes.
  const Scenario big = scenario(scenario_json(R"({"dp": 8, "ep": 8, "seq_len": 1024})", "{}", "{}",
                                              R"({"preset": "deepseek-v3"})", R"({"preset": "hgx-h800", "nodes": 1})"));
  const StepResult r = simulate(big);
  CHECK_FALSE(r.fits_memory);
  CHECK(r.memory.weights_bytes > 80e9);
  const Scenario small = scenario(scenario_json(R"({"dp": 8, "ep": 8, "seq_len": 1024})", "{}", "{}",
                                                R"({"preset": "olmoe-1b-7b"})"));
  CHECK(simulate(small).fits_memory);
}


TEST_CASE("FP8 runs attention's projections in FP8 and its core in BF16", "[estimator]") {
  // With r = FP8 peak / BF16 peak (H100: 1978.9 / 989.4), attention time goes from (P + C) / R
  // to P / rR + C / R.
  Scenario bf16 = scenario(scenario_json(R"({"dp": 8, "ep": 8, "micro_batches": 1, "seq_len": 4096})"));
  Scenario fp8 = bf16;
  fp8.model.compute_dtype = Dtype::FP8;
  const double p = bf16.model.attention_projection_flops_per_token();
  const double c = bf16.model.attention_core_flops_per_token(4096);
  const auto attention_s = [](const Scenario& s) {
    for (const auto& [part, seconds] : simulate(s).breakdown_s)
      if (part == "attention") return seconds;
    return 0.0;
  };
  const double r = bf16.cluster.gpu.peak_fp8_flops / bf16.cluster.gpu.peak_bf16_flops;
  CHECK(attention_s(fp8) / attention_s(bf16) == Approx((p / r + c) / (p + c)).epsilon(1e-9));
}
