// Model presets against the parameter counts their authors publish.
#include <catch2/catch.hpp>

#include "models/model.hpp"

using namespace moesim;

TEST_CASE("parameter counts match the published totals", "[model]") {
  const auto& m = model_presets();
  // Mistral AI: Mixtral 8x7B has 46.7B total and 12.9B active parameters.
  CHECK(m.find("mixtral-8x7b")->total_params() == Approx(46.7e9).epsilon(0.01));
  CHECK(m.find("mixtral-8x7b")->active_params() == Approx(12.9e9).epsilon(0.01));
  // DeepSeek-V3 report: the main model has 671B parameters (the 14B MTP module is extra and
  // not modeled), 37B active per token.
  CHECK(m.find("deepseek-v3")->total_params() == Approx(671e9).epsilon(0.01));
  CHECK(m.find("deepseek-v3")->active_params() == Approx(37e9).epsilon(0.03));
  // Qwen3-30B-A3B: 30.5B total, 3.3B active (model card).
  CHECK(m.find("qwen3-30b-a3b")->total_params() == Approx(30.5e9).epsilon(0.01));
  CHECK(m.find("qwen3-30b-a3b")->active_params() == Approx(3.3e9).epsilon(0.03));
  // OLMoE-1B-7B: 6.9B total, 1.3B active (OLMoE paper).
  CHECK(m.find("olmoe-1b-7b")->total_params() == Approx(6.9e9).epsilon(0.02));
  CHECK(m.find("olmoe-1b-7b")->active_params() == Approx(1.3e9).epsilon(0.03));
}

TEST_CASE("MoE layer layout", "[model]") {
  const auto& m = model_presets();
  CHECK(m.find("deepseek-v3")->moe_layers() == 58);
  CHECK(m.find("switch-base-128")->moe_layers() == 12);
  CHECK(m.find("vmoe-b16")->moe_layers() == 6);
  CHECK_FALSE(m.find("vmoe-b16")->is_moe_layer(0));
  CHECK(m.find("vmoe-b16")->is_moe_layer(1));
  // DeepEP's FP8 dispatch layout: 7168 values + 56 FP32 scales = 7392 bytes.
  CHECK(m.find("deepseek-v3")->dispatch_bytes_per_token() == 7392);
  CHECK(m.find("deepseek-v3")->combine_bytes_per_token() == 14336);
}

TEST_CASE("sliding-window layers: GPT-OSS's every other layer sees 128 keys", "[model]") {
  const ModelSpec m = *model_presets().find("gpt-oss-120b");
  CHECK(m.attention.is_windowed(0));
  CHECK_FALSE(m.attention.is_windowed(1));
  CHECK(m.attention.is_windowed(34));
  // 64 heads x (64 + 64) dims x 2 FLOPs = 16,384 per key. Full causal layer at 4096 tokens:
  // 2048 keys on average; windowed: query i sees min(i + 1, 128), on average 128 - 128^2 /
  // (2 x 4096) = 126.
  CHECK(m.mixing_core_flops_per_token(1, 4096) == 16384.0 * 2048);
  CHECK(m.mixing_core_flops_per_token(0, 4096) == 16384.0 * 126);
  // A sequence no longer than the window: every layer attends to its whole causal prefix.
  CHECK(m.mixing_core_flops_per_token(0, 128) == m.mixing_core_flops_per_token(1, 128));
}
