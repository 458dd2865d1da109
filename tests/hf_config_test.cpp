// Models from Hugging Face config.json files: the same results as the matching presets.
#include <catch2/catch.hpp>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "sim/hf_config.hpp"
#include "tests/helpers.hpp"

using namespace moesim;
using namespace moesim::test;
namespace fs = std::filesystem;

namespace {

const std::string FIXTURES = std::string(MOESIM_SOURCE_DIR) + "/tests/fixtures/hf/";

// result.json of a small run of `model_section`, without the echo of how the model was named.
nlohmann::json result_with(const std::string& model_section, const std::string& tag) {
  const fs::path dir = fs::temp_directory_path() / ("moesim_hf_" + tag + "_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string scenario = (dir / "s.json").string();
  std::ofstream(scenario) << scenario_json(R"({"dp": 8, "ep": 8, "micro_batches": 2, "seq_len": 1024})",
                                           R"({"policy": "topk", "capacity_factor": 1.25})", R"({"alpha": 1, "seed": 3})",
                                           model_section, R"({"preset": "dgx-h100", "nodes": 1})");
  const CommandResult r = run_command(std::string(MOESIM_BINARY) + " run " + scenario + " --out " + dir.string());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  auto result = nlohmann::json::parse(read_file((dir / "result.json").string()));
  result["scenario"]["model"].erase("preset");
  return result;
}

}  // namespace

TEST_CASE("each Hugging Face config gives the same result.json as its preset", "[hf]") {
  for (const char* name : {"mixtral-8x7b", "deepseek-v3", "qwen3-30b-a3b", "qwen3-235b-a22b", "olmoe-1b-7b", "gpt-oss-120b"}) {
    INFO(name);
    const auto from_preset = result_with(std::string(R"({"preset": ")") + name + "\"}", std::string(name) + "_p");
    const auto from_config =
        result_with(std::string(R"({"hf_config": ")") + FIXTURES + name + ".json\"}", std::string(name) + "_c");
    CHECK(from_config == from_preset);
  }
}

TEST_CASE("Hugging Face configs: overrides apply, and errors name what is missing", "[hf]") {
  const Scenario s = scenario(scenario_json(R"({"dp": 8, "ep": 8, "seq_len": 1024})", R"({"policy": "topk"})", "{}",
                                            R"({"hf_config": ")" + FIXTURES + R"(mixtral-8x7b.json", "layers": 4})"));
  CHECK(s.model.layers == 4);
  CHECK(s.model.experts == 8);
  CHECK_THROWS_WITH(parse_hf_config(R"({"model_type": "mixtral", "hidden_size": 4096})", "c.json"),
                    Catch::Contains("c.json: a mixtral config needs these fields as whole numbers: num_hidden_layers, "
                                    "vocab_size, intermediate_size, num_local_experts, num_experts_per_tok, "
                                    "num_attention_heads"));
  CHECK_THROWS_WITH(parse_hf_config(R"({"model_type": "llama"})", "c.json"),
                    Catch::Contains("/model_type: \"llama\": expected a known MoE architecture: deepseek_v2"));
  CHECK_THROWS_WITH(parse_hf_config("[1]", "c.json"), Catch::Contains("c.json: /model_type"));
  CHECK_THROWS_WITH(scenario(scenario_json(R"({"dp": 8, "ep": 8})", R"({"policy": "topk"})", "{}",
                                           R"({"hf_config": "x.json", "preset": "mixtral-8x7b"})")),
                    Catch::Contains("/model/preset: give either preset or hf_config"));
  // Qwen2-MoE's shared expert becomes shared_expert_intermediate_size / moe_intermediate_size FFNs.
  const ModelSpec qwen2 = parse_hf_config(
      R"({"model_type": "qwen2_moe", "num_hidden_layers": 24, "hidden_size": 2048, "vocab_size": 151936,
          "intermediate_size": 5632, "moe_intermediate_size": 1408, "shared_expert_intermediate_size": 5632,
          "num_experts": 60, "num_experts_per_tok": 4, "num_attention_heads": 16, "num_key_value_heads": 16})",
      "qwen2.json");
  CHECK(qwen2.shared_experts == 4);
  CHECK(qwen2.attention.head_dim == 128);
  // Qwen3's and OLMoE's attention normalize queries and keys; Qwen2-MoE's does not.
  CHECK_FALSE(qwen2.attention.qk_norm);
  CHECK(parse_hf_config(read_file(FIXTURES + "qwen3-30b-a3b.json"), "q3.json").attention.qk_norm);
  CHECK(parse_hf_config(read_file(FIXTURES + "olmoe-1b-7b.json"), "o.json").attention.qk_norm);
  CHECK_FALSE(parse_hf_config(read_file(FIXTURES + "mixtral-8x7b.json"), "m.json").attention.qk_norm);
}

TEST_CASE("Hugging Face configs: sliding windows from layer_types, or none where use_sliding_window is false", "[hf]") {
  const std::string base = R"("model_type": "gpt_oss", "num_hidden_layers": 4, "hidden_size": 2880, "vocab_size": 201088,
      "intermediate_size": 2880, "num_local_experts": 128, "num_experts_per_tok": 4, "num_attention_heads": 64,
      "num_key_value_heads": 8, "head_dim": 64, "sliding_window": 128)";
  const ModelSpec alternating = parse_hf_config(
      "{" + base + R"(, "layer_types": ["sliding_attention", "full_attention", "sliding_attention", "full_attention"]})", "c.json");
  CHECK(alternating.attention.sliding_window == 128);
  CHECK(alternating.attention.sliding_window_every == 2);
  // GPT-OSS's experts carry biases and clamp their SwiGLU, added and clamped as Megatron-Core does
  CHECK(alternating.expert_bias == "per_expert");
  CHECK(alternating.glu_clamp == "eager");
  const ModelSpec all_layers = parse_hf_config("{" + base + "}", "c.json");
  CHECK(all_layers.attention.sliding_window_every == 1);
  CHECK(parse_hf_config("{" + base + R"(, "use_sliding_window": false})", "c.json").attention.sliding_window == 0);
  CHECK_THROWS_WITH(
      parse_hf_config("{" + base + R"(, "layer_types": ["sliding_attention", "sliding_attention", "full_attention", "sliding_attention"]})",
                      "c.json"),
      Catch::Contains("c.json: layer_types") && Catch::Contains("layer 2"));
}
