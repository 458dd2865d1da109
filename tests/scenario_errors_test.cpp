// Bad input gets one clear message naming the file, the JSON path, the value and what was expected.
#include <catch2/catch.hpp>

#include "tests/helpers.hpp"

using namespace moesim;
using namespace moesim::test;

namespace {
std::string error_of(const std::string& text) {
  try {
    parse_scenario(text, "bad.json");
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}
}  // namespace

TEST_CASE("scenario errors name file and path and value and expectation", "[scenario]") {
  SECTION("unknown key") {
    const std::string e = error_of(scenario_json(R"({"dp": 8, "ep": 8, "dpp": 2})"));
    CHECK_THAT(e, Catch::StartsWith("bad.json: /plan/dpp: unknown key; expected one of: dp, tp, cp, pp"));
  }
  SECTION("unknown top-level key") {
    CHECK_THAT(error_of(R"({"clutser": {}})"), Catch::StartsWith("bad.json: /clutser: unknown key"));
  }
  SECTION("wrong type") {
    CHECK(error_of(scenario_json(R"({"dp": "eight", "ep": 8})")) == "bad.json: /plan/dp: \"eight\": expected an integer >= 1");
  }
  SECTION("wrong type for a section") {
    CHECK(error_of(R"({"cluster": [1, 2]})") == "bad.json: /cluster: [1,2]: expected an object");
  }
  SECTION("unknown preset lists the valid names") {
    const std::string e = error_of(scenario_json(R"({"dp": 8, "ep": 8})", R"({"policy": "topk"})", "{}", R"({"preset": "mixtral"})"));
    CHECK_THAT(e, Catch::StartsWith("bad.json: /model/preset: \"mixtral\": expected a known model preset: "));
    CHECK_THAT(e, Catch::Contains("mixtral-8x7b") && Catch::Contains("deepseek-v3"));
  }
  SECTION("a clamp of the gated activation on a model without one") {
    CHECK(error_of(scenario_json(R"({"dp": 8, "ep": 8})", R"({"policy": "topk"})", "{}",
                                 R"({"preset": "mixtral-8x7b", "gated_ffn": false, "glu_clamp": "eager"})")) ==
          "bad.json: /model/glu_clamp: \"eager\": a clamp of the gated activation needs gated_ffn true");
    CHECK_THAT(error_of(scenario_json(R"({"dp": 8, "ep": 8})", R"({"policy": "topk"})", "{}",
                                      R"({"preset": "mixtral-8x7b", "glu_clamp": "lazy"})")),
               Catch::StartsWith("bad.json: /model/glu_clamp: \"lazy\": expected one of none, fused, eager"));
  }
  SECTION("FP8 attention outside an FP8 recipe, or on a GPU without its measured rates") {
    CHECK(error_of(scenario_json(R"({"dp": 8, "ep": 8})", R"({"policy": "topk"})", "{}",
                                 R"({"preset": "mixtral-8x7b", "attention_dtype": "fp8"})")) ==
          "bad.json: /model/attention_dtype: \"fp8\": FP8 attention needs compute_dtype \"fp8\" (an FP8 recipe)");
    // Hopper has no MXFP8; its FP8 attention is measured (H200, cuDNN's benchmark)
    CHECK(error_of(scenario_json(R"({"dp": 8, "ep": 8})", R"({"policy": "topk"})", "{}",
                                 R"({"preset": "mixtral-8x7b", "compute_dtype": "fp8", "attention_dtype": "mxfp8"})")) ==
          "bad.json: /model/attention_dtype: \"mxfp8\": no mxfp8 attention rates for GPU h100-sxm; set "
          "cluster.attention_mxfp8_forward_efficiency and _backward_efficiency");
    CHECK_NOTHROW(scenario(scenario_json(R"({"dp": 8, "ep": 8})", R"({"policy": "topk"})", "{}",
                                         R"({"preset": "mixtral-8x7b", "compute_dtype": "fp8", "attention_dtype": "fp8"})")));
    CHECK_THAT(error_of(scenario_json(R"({"dp": 8, "ep": 8})", R"({"policy": "topk"})", "{}",
                                      R"({"preset": "mixtral-8x7b", "attention_dtype": "fp4"})")),
               Catch::StartsWith("bad.json: /model/attention_dtype: \"fp4\": expected one of bf16, fp8, mxfp8"));
  }
  SECTION("a gradient dtype that is not fp32 or bf16") {
    CHECK_THAT(error_of(scenario_json(R"({"dp": 8, "ep": 8, "gradient_dtype": "fp8"})")),
               Catch::StartsWith("bad.json: /plan/gradient_dtype: \"fp8\"") && Catch::Contains("fp32") &&
                   Catch::Contains("bf16"));
  }
  SECTION("recompute_modules: a module moesim does not know, a repeated one, the wrong granularity or attention") {
    CHECK(error_of(scenario_json(R"({"dp": 8, "ep": 8, "recompute": "selective", "recompute_modules": ["moe"]})")) ==
          "bad.json: /plan/recompute_modules: [\"moe\"]: expected list of distinct core_attn, layernorm, mla_up_proj, mlp, "
          "shared_experts, moe_act");
    CHECK_THAT(error_of(scenario_json(R"({"dp": 8, "ep": 8, "recompute": "selective", "recompute_modules": ["mlp", "mlp"]})")),
               Catch::StartsWith("bad.json: /plan/recompute_modules: [\"mlp\",\"mlp\"]: expected list of distinct"));
    CHECK_THAT(error_of(scenario_json(R"({"dp": 8, "ep": 8, "recompute_modules": [1]})")),
               Catch::StartsWith("bad.json: /plan/recompute_modules/0: 1: expected list of distinct"));
    CHECK(error_of(scenario_json(R"({"dp": 8, "ep": 8, "recompute_modules": ["moe_act"]})")) ==
          "bad.json: /plan/recompute_modules: recompute_modules is read with recompute selective only (recompute is "
          "\"none\")");
    CHECK_THAT(error_of(scenario_json(R"({"dp": 8, "ep": 8, "recompute": "selective", "recompute_modules": ["mla_up_proj"]})")),
               Catch::Contains("mla_up_proj recomputes multi-latent attention's up-projections; this model's attention is not MLA"));
  }
  SECTION("unknown router policy") {
    CHECK_THAT(error_of(scenario_json(R"({"dp": 8, "ep": 8})", R"({"policy": "magic"})")),
               Catch::StartsWith("bad.json: /router/policy: \"magic\": expected a known router policy: base, dropless, expert_choice"));
  }
  SECTION("unknown GPU") {
    CHECK_THAT(error_of(scenario_json(R"({"dp": 8, "ep": 8})", "{}", "{}", R"({"preset": "mixtral-8x7b"})",
                                      R"({"preset": "dgx-h100", "gpu": "h1000"})")),
               Catch::StartsWith("bad.json: /cluster/gpu: \"h1000\": expected a known GPU preset: a100-80g"));
  }
  SECTION("impossible plan: ep does not divide experts") {
    CHECK(error_of(scenario_json(R"({"dp": 8, "ep": 3})")) == "bad.json: /plan/ep: ep=3 does not divide experts=8");
  }
  SECTION("impossible plan: expert parallelism for a dense model") {
    CHECK(error_of(scenario_json(R"({"dp": 8, "ep": 8})", "{}", "{}", R"({"preset": "llama3-8b"})")) ==
          "bad.json: /plan/ep: ep*etp=8 but the model has no MoE layer to split (a dense model): expected ep=1, etp=1");
  }
  SECTION("impossible plan: GPU count") {
    CHECK(error_of(scenario_json(R"({"dp": 24, "ep": 8})")) == "bad.json: /plan: dp*cp*tp*pp=24 but the cluster has 8 GPUs");
  }
  SECTION("impossible plan: ep*etp does not divide dp*cp*tp") {
    CHECK(error_of(scenario_json(R"({"dp": 4, "tp": 2, "ep": 8, "etp": 2})")) ==
          "bad.json: /plan: ep*etp=16 does not divide dp*cp*tp=8");
  }
  SECTION("impossible plan: combined 1F1B where Megatron-Core refuses it") {
    CHECK(error_of(scenario_json(R"({"dp": 4, "pp": 2, "ep": 4, "micro_batches": 4, "overlap_ep_comm": true})")) ==
          "bad.json: /plan/overlap_ep_comm: overlap_ep_comm with pp > 1 needs the interleaved schedule (vp > 1), as "
          "Megatron-Core does");
    CHECK(error_of(scenario_json(R"({"dp": 8, "micro_batches": 2, "overlap_ep_comm": true})")) ==
          "bad.json: /plan/overlap_ep_comm: overlap_ep_comm needs ep > 1: without expert parallelism there is no all-to-all");
    CHECK_THAT(error_of(scenario_json(R"({"dp": 8, "ep": 8, "micro_batches": 2, "overlap_ep_comm": true, "recompute": "full"})")),
               Catch::Contains("recompute full"));
  }
  SECTION("impossible plan: tensor parallelism without sequence parallelism") {
    CHECK(error_of(scenario_json(R"({"dp": 4, "tp": 2, "ep": 8, "sequence_parallel": false})")) ==
          "bad.json: /plan/sequence_parallel: sequence_parallel false with tp=2: Megatron-Core requires sequence "
          "parallelism for MoE with tensor parallelism");
    CHECK(error_of(scenario_json(R"({"dp": 8, "ep": 8, "sequence_parallel": false})")) == "(no error)");
  }
  SECTION("zero size") {
    CHECK(error_of(scenario_json(R"({"dp": 8, "ep": 8, "micro_batches": 0})")) ==
          "bad.json: /plan/micro_batches: 0: expected an integer >= 1");
  }
  SECTION("negative bandwidth") {
    CHECK(error_of(scenario_json(R"({"dp": 8, "ep": 8})", "{}", "{}", R"({"preset": "mixtral-8x7b"})",
                                 R"({"preset": "dgx-h100", "nvlink_GBps": -5})")) ==
          "bad.json: /cluster/nvlink_GBps: -5: expected a number > 0");
  }
  SECTION("negative host time per kernel (0, a CUDA-graphed step, is allowed)") {
    const auto with_host = [](const std::string& us) {
      return error_of(scenario_json(R"({"dp": 8, "ep": 8})", "{}", "{}", R"({"preset": "mixtral-8x7b"})",
                                    R"({"preset": "dgx-h100", "host_us_per_kernel": )" + us + "}"));
    };
    CHECK(with_host("-5") == "bad.json: /cluster/host_us_per_kernel: -5: expected a number >= 0");
    CHECK(with_host("0") == "(no error)");
  }
  SECTION("negative router parameter") {
    CHECK(error_of(scenario_json(R"({"dp": 8, "ep": 8})", R"({"capacity_factor": -1})")) ==
          "bad.json: /router/capacity_factor: -1: expected a number > 0");
  }
  SECTION("choice outside its set") {
    CHECK(error_of(scenario_json(R"({"dp": 8, "ep": 8})", R"({"drop_order": "random"})")) ==
          "bad.json: /router/drop_order: \"random\": expected one of position, probs, batch_priority");
  }
  SECTION("top_k larger than experts") {
    CHECK(error_of(scenario_json(R"({"dp": 8, "ep": 8})", "{}", "{}", R"({"preset": "mixtral-8x7b", "top_k": 9})")) ==
          "bad.json: /model/top_k: 9: expected 1 <= top_k <= experts=8");
  }
  SECTION("missing section") {
    CHECK(error_of(R"({"cluster": {"preset": "dgx-h100"}})") == "bad.json: /model: missing; expected an object");
  }
  SECTION("malformed JSON gives line and column") {
    const std::string e = error_of("{\n  \"cluster\": {\"preset\": \"dgx-h100\",}\n}");
    CHECK_THAT(e, Catch::StartsWith("bad.json: line 2, column 36: malformed JSON: syntax error"));
  }
}

TEST_CASE("a missing scenario file is an input error", "[scenario]") {
  CHECK_THROWS_AS(load_scenario_file("/nonexistent/scenario.json"), InputError);
}

TEST_CASE("presets resolve and overrides apply", "[scenario]") {
  const Scenario s = scenario(scenario_json(R"({"dp": 8, "ep": 8})", "{}", "{}", R"({"preset": "mixtral-8x7b"})",
                                            R"({"preset": "dgx-h100", "nic_GBps": 25, "gpu": "h200"})"));
  CHECK(s.cluster.nic_Bps == 25e9);
  CHECK(s.cluster.gpu.name == "h200");
  CHECK(s.cluster.nvlink_Bps == s.cluster.gpu.nvlink_Bps);
  CHECK(s.plan.seq_len == 4096);  // the model's default when the plan gives none
  CHECK(s.router.params.optional_number("capacity_factor") == 1.25);
}
