// Memory per GPU against values worked out by hand for a small model (issue 6).
#include <catch2/catch.hpp>

#include "models/cost_model.hpp"
#include "models/memory_model.hpp"
#include "sim/simulate.hpp"
#include "tests/helpers.hpp"

using namespace moesim;
using namespace moesim::test;

namespace {
// 2 MoE layers, d = 1024, 8 experts of width 2048 (SwiGLU), top-2, 8 heads of 128 (no GQA
// sharing), vocabulary 1000; DP 8 = EP 8 on one node, 1024 tokens per micro-batch.
Scenario small() {
  return scenario(scenario_json(
      R"({"dp": 8, "ep": 8, "micro_batches": 1, "seq_len": 1024})", R"({"policy": "topk"})", "{}",
      R"({"preset": "mixtral-8x7b", "layers": 2, "d_model": 1024, "d_ffn_dense": 2048, "d_ffn_expert": 2048,
          "experts": 8, "top_k": 2, "vocab": 1000, "heads": 8, "kv_heads": 8, "head_dim": 128})"));
}
// The loss's FP32 softmax over the vocabulary, kept for the backward by the stage with the output
// layer: 1024 tokens x 1000 x 4 bytes per micro-batch in flight there.
constexpr double LOSS = 4'096'000.0;
}  // namespace

TEST_CASE("memory terms of a small model equal the hand-computed values", "[memory]") {
  Scenario s = small();
  const double max_rows = 300;  // the busiest GPU's expert rows in one micro-batch of one layer
  // Parameters per GPU:
  //   attention: d*hd*(heads + 2 kv) + heads*hd*d = 1024*128*24 + 8*128*1024 = 4,194,304 per layer
  //   router: d * experts = 8,192 per layer; embeddings (input and output): 2 * 1000 * 1024 = 2,048,000
  //   dense part: 2 * (4,194,304 + 8,192) + 2,048,000 = 10,452,992
  //   experts: 8 / ep = 1 per GPU per layer, 3 * 1024 * 2048 = 6,291,456 each: 12,582,912
  //   total: 23,035,904
  const MemoryBreakdown m = memory_per_gpu(s.model, s.plan, max_rows);
  CHECK(m.weights_bytes == 2.0 * 23'035'904);     // BF16
  CHECK(m.gradients_bytes == 4.0 * 23'035'904);   // FP32
  CHECK(m.optimizer_bytes == 12.0 * 23'035'904);  // FP32 master weights and two Adam moments
  // Activations per layer (1024 tokens, BF16): attention block and norms 15 h per token =
  // 1024 * 15 * 1024 = 15,728,640; the MoE input 2 h per token = 2,097,152; the busiest GPU's
  // expert rows keep 2 h + 6 f = 14,336 bytes each: 300 * 14,336 = 4,300,800. Two layers, one
  // micro-batch in flight: 2 * 22,126,592 = 44,253,184, and the loss's softmax.
  CHECK(m.activations_bytes == 44'253'184.0 + LOSS);
  // All-to-all buffers: 300 rows x (dispatch 2 h + combine 2 h) = 300 * 4096 = 1,228,800.
  CHECK(m.a2a_buffer_bytes == 1'228'800.0);

  // ZeRO-1: the 12 optimizer bytes of the dense part over dp = 8, of the experts over edp =
  // dp*tp / (ep*etp) = 1: 10,452,992 / 8 + 12,582,912 = 13,889,536 parameters.
  s.plan.distributed_optimizer = true;
  const MemoryBreakdown z = memory_per_gpu(s.model, s.plan, max_rows);
  CHECK(z.optimizer_bytes == 12.0 * 13'889'536);
  CHECK(z.weights_bytes == m.weights_bytes);
  CHECK(z.gradients_bytes == m.gradients_bytes);

  // BF16 gradients (Megatron-Bridge's grad_reduce_in_fp32 = False): 2 bytes per parameter,
  // the rest unchanged.
  s.plan.gradient_dtype = Dtype::BF16;
  const MemoryBreakdown b = memory_per_gpu(s.model, s.plan, max_rows);
  CHECK(b.gradients_bytes == 2.0 * 23'035'904);
  CHECK(b.total_bytes() == z.total_bytes() - 2.0 * 23'035'904);

  // An eager clamp of the gated activation (GPT-OSS in Megatron-Core) keeps its input, the
  // input projection's 2 f BF16 values, beside the clamped copy: 300 rows x 4 x 2048 = 2,457,600
  // per layer, none when moe_act recomputes the activation.
  {
    Scenario c = s;
    c.model.glu_clamp = "eager";
    CHECK(memory_per_gpu(c.model, c.plan, max_rows).activations_bytes == b.activations_bytes + 2 * 2'457'600.0);
    c.plan.recompute = "selective", c.plan.recompute_modules = {"moe_act"};
    Scenario r = s;
    r.plan.recompute = "selective", r.plan.recompute_modules = {"moe_act"};
    CHECK(memory_per_gpu(c.model, c.plan, max_rows).activations_bytes ==
          memory_per_gpu(r.model, r.plan, max_rows).activations_bytes);
  }

  // FP8 compute: each linear layer keeps its input as the 1-byte cast its GEMM read. Per layer:
  // attention block and norms 11 h + 2 x 1 h (the QKV and output projections' inputs) = 13 h
  // per token: 1024 * 13 * 1024 = 13,631,488; the MoE input stays 2 h (BF16, the router's):
  // 2,097,152; expert rows keep a 1-byte input (h) and 4 f + 1 f of hidden values: 300 *
  // (1024 + 5 * 2048) = 3,379,200. Two layers: 2 * 19,107,840 = 38,215,680.
  s.model.compute_dtype = Dtype::FP8;
  const MemoryBreakdown f = memory_per_gpu(s.model, s.plan, max_rows);
  CHECK(f.activations_bytes == 38'215'680.0 + LOSS);
  CHECK(f.weights_bytes == b.weights_bytes);
}

TEST_CASE("1F1B keeps pp - stage micro-batches in flight on stage 0", "[memory]") {
  // With pp = 2 and 4 micro-batches the first stage holds min(2, 4) = 2 micro-batches of its
  // one layer: 2 * 22,126,592; the stage holding the output layer differs only in weights.
  Scenario s = small();
  s.plan.dp = 4;
  s.plan.pp = 2;
  s.plan.ep = 4;
  s.plan.micro_batches = 4;
  // Expert rows change with ep = 4 (2 experts per GPU), but the term per row does not.
  const MemoryBreakdown m = memory_per_gpu(s.model, s.plan, 300);
  CHECK(m.activations_bytes == 2 * 22'126'592.0);
}

TEST_CASE("the combined order: one forward more in the interleaved warm-up, one layer more in a pair", "[memory]") {
  // No pipeline, 2 micro-batches: 1F1B holds one micro-batch (44,253,184 and the loss's). The
  // combined order runs forward 1 beside backward 0, layer i beside layer L - 1 - i, each
  // backward layer freed as a forward one fills: one layer (22,126,592) more.
  Scenario s = small();
  s.plan.micro_batches = 2;
  const double one = memory_per_gpu(s.model, s.plan, 300).activations_bytes;
  CHECK(one == 44'253'184.0 + LOSS);
  s.plan.overlap_ep_comm = true;
  CHECK(memory_per_gpu(s.model, s.plan, 300).activations_bytes == one + 22'126'592.0);
  // PP 2, VP 2 (4 layers, one a chunk), 4 micro-batches: stage 0 holds 2 (pp - 1) + (vp - 1) pp
  // + 1 = 5 chunks under interleaved 1F1B, one more under the combined order (its extra warm-up
  // forward), each chunk half of the stage's two layers (44,253,184); and the pair's layer.
  s = small();
  s.model.layers = 4;
  s.plan.dp = 4, s.plan.pp = 2, s.plan.vp = 2, s.plan.ep = 4, s.plan.micro_batches = 4;
  CHECK(memory_per_gpu(s.model, s.plan, 300).activations_bytes == 2.5 * 44'253'184.0);
  s.plan.overlap_ep_comm = true;
  CHECK(memory_per_gpu(s.model, s.plan, 300).activations_bytes == 3 * 44'253'184.0 + 22'126'592.0);
}

TEST_CASE("full recomputation keeps layer inputs and recomputes the forward pass", "[memory]") {
  Scenario s = small();
  s.plan.recompute = "full";
  // Layer inputs: 1024 tokens x 2 h = 2,097,152 bytes per layer, two layers, plus one layer's
  // full activations (22,126,592) while it is recomputed: 26,320,896; the loss keeps its softmax.
  CHECK(memory_per_gpu(s.model, s.plan, 300).activations_bytes == 26'320'896.0 + LOSS);
  // The step: the backward runs the forward once more. With element-wise kernels made free,
  // attention per token and layer goes from 3 P / R + C / B (1 / e_f + 2.5 / e_b) to
  // 4 P / R + C / B (2 / e_f + 2.5 / e_b) (projections P at the GEMM rate R = g x peak, the
  // fused core C at the BF16 peak B times its forward and backward efficiencies).
  s.cluster.gpu.hbm_Bps = 1e30;
  s.cluster.kernel_overhead_s = s.cluster.gemm_overhead_s = 0;
  Scenario none = s;
  none.plan.recompute = "none";
  const auto attention_s = [](const Scenario& sc) {
    for (const auto& [part, seconds] : simulate(sc).breakdown_s)
      if (part == "attention") return seconds;
    return 0.0;
  };
  const ClusterSpec& c = s.cluster;
  const double p = s.model.attention_projection_flops_per_token() / c.gemm_efficiency;
  const double core = s.model.attention_core_flops_per_token(1024);
  // 1024 causal tokens: 4 blocks of keys per query tile, and the tile's fixed time
  const double tile_share = 4 / (4 + ATTENTION_TILE_OVERHEAD_BLOCKS);
  const double e_f = c.gpu.attention_forward_efficiency * tile_share, e_b = c.gpu.attention_backward_efficiency * tile_share;
  CHECK(attention_s(s) / attention_s(none) ==
        Approx((4 * p + core * (2 / e_f + 2.5 / e_b)) / (3 * p + core * (1 / e_f + 2.5 / e_b))).epsilon(1e-9));
}

TEST_CASE("selective recomputation frees what its modules recompute", "[memory]") {
  Scenario s = small();
  s.plan.recompute = "selective";
  const auto activations = [&](std::vector<std::string> modules) {
    s.plan.recompute_modules = std::move(modules);
    return memory_per_gpu(s.model, s.plan, 300).activations_bytes;
  };
  // core_attn (Megatron's default): flash attention keeps no score matrix, nothing to free:
  // 2 layers x 22,126,592 and the loss's softmax, as without recomputation.
  CHECK(activations({"core_attn"}) == 44'253'184.0 + LOSS);
  // moe_act: each expert row drops its activation output, 2 f = 4,096 bytes: 300 rows, 2
  // layers: 44,253,184 - 2,457,600.
  CHECK(activations({"moe_act"}) == 41'795'584.0 + LOSS);
  // layernorm: the norms' outputs, the QKV projection's input (2 h) and the MoE block's input
  // (2 h): 1024 tokens x 4 h per layer = 4,194,304, two layers: 44,253,184 - 8,388,608.
  CHECK(activations({"layernorm"}) == 35'864'576.0 + LOSS);
  CHECK(activations({"layernorm", "moe_act"}) == 35'864'576.0 - 2'457'600.0 + LOSS);
}

TEST_CASE("recompute_layers: only the first N layers of each model chunk recompute", "[memory]") {
  // The small model's two layers: with recompute_layers 1, layer 0 keeps its input (2,097,152
  // bytes) and layer 1 its full activations (22,126,592 with 300 expert rows), plus layer 0's
  // full activations while it is recomputed: 46,350,336; and the loss's softmax.
  Scenario s = small();
  s.plan.recompute = "full";
  s.plan.recompute_layers = 1;
  CHECK(memory_per_gpu(s.model, s.plan, 300).activations_bytes == 2'097'152.0 + 22'126'592.0 + 22'126'592.0 + LOSS);
  // The step: layer 0's backward recomputes its forward, layer 1's does not; the two layers
  // are alike, so attention takes the mean of no recomputation and recomputing every layer.
  s.cluster.gpu.hbm_Bps = 1e30;
  s.cluster.kernel_overhead_s = s.cluster.gemm_overhead_s = s.cluster.host_s_per_kernel = 0;
  Scenario none = s, every = s;
  none.plan.recompute = "none", none.plan.recompute_layers = 0;
  every.plan.recompute_layers = 0;
  const double half = part(simulate(s), "attention");
  CHECK(half == Approx((part(simulate(none), "attention") + part(simulate(every), "attention")) / 2).epsilon(1e-9));
  CHECK(part(simulate(s), "expert_compute") > part(simulate(none), "expert_compute"));
  // without recompute full, recompute_layers says nothing: refused
  CHECK_THROWS_WITH(scenario(scenario_json(R"({"dp": 8, "ep": 8, "recompute_layers": 1})")),
                    Catch::Contains("/plan/recompute_layers") && Catch::Contains("needs recompute full"));
}

TEST_CASE("an MTP module adds a layer like the last, its projection and their activations to the last stage", "[memory]") {
  Scenario s = small();
  const double max_rows = 300;
  const MemoryBreakdown without = memory_per_gpu(s.model, s.plan, max_rows);
  s.model.mtp_layers = 1;
  const MemoryBreakdown with = memory_per_gpu(s.model, s.plan, max_rows);
  // Parameters: the last layer's again (4,194,304 + 8,192 dense, 6,291,456 of experts on
  // this GPU) and the projection 2 d x d = 2,097,152: 12,591,104 more, each with its 2 + 4
  // + 12 bytes of weights, FP32 gradients and optimizer state.
  const double mtp_params = 4'194'304 + 8'192 + 6'291'456 + 2'097'152;
  CHECK(mtp_dense_params_per_gpu(s.model, s.plan) == 4'194'304 + 8'192 + 2'097'152);
  CHECK(mtp_expert_params_per_gpu(s.model, s.plan) == 6'291'456);
  CHECK(with.weights_bytes - without.weights_bytes == 2 * mtp_params);
  CHECK(with.gradients_bytes - without.gradients_bytes == 4 * mtp_params);
  CHECK(with.optimizer_bytes - without.optimizer_bytes == 12 * mtp_params);
  // Activations: one more layer's 22,126,592, the projection's input, 2 x 2 h per token:
  // 1024 * 4 * 1024 = 4,194,304, and its own loss's softmax.
  CHECK(with.activations_bytes - without.activations_bytes == 22'126'592.0 + 4'194'304.0 + LOSS);
}

TEST_CASE("a pipeline layout places the layers per virtual stage and is checked against the model", "[memory][plan]") {
  ParallelPlan p;
  p.pp = 4, p.vp = 2;
  p.pipeline_layout = {1, 2, 2, 2, 2, 2, 2, 0};
  CHECK(p.first_layer(0, 13) == 0);
  CHECK(p.first_layer(1, 13) == 1);
  CHECK(p.first_layer(7, 13) == 13);
  CHECK(p.first_layer(8, 13) == 13);
  // the last virtual stage holds no layer: layer 12 sits in virtual stage 6
  CHECK(p.chunk_of_layer(12, 13) == 6);
  CHECK(p.chunk_of_layer(0, 13) == 0);
  std::vector<int> stage3;
  p.for_each_stage_layer(3, 13, [&](int l) { stage3.push_back(l); });  // virtual stages 3 and 7
  CHECK(stage3 == std::vector<int>{5, 6});

  // In a scenario: a layout of the wrong length or sum is refused, naming the key.
  const std::string model = R"({"preset": "mixtral-8x7b", "layers": 4})";
  const auto plan = [](const std::string& layout) {
    return R"({"dp": 2, "pp": 4, "ep": 2, "micro_batches": 4, "seq_len": 1024, "pipeline_layout": )" + layout + "}";
  };
  CHECK_THROWS_WITH(scenario(scenario_json(plan("[1, 1, 2]"), R"({"policy": "topk"})", "{}", model)),
                    Catch::Matchers::Contains("pipeline_layout") && Catch::Matchers::Contains("4 virtual stages"));
  CHECK_THROWS_WITH(scenario(scenario_json(plan("[1, 1, 1, 2]"), R"({"policy": "topk"})", "{}", model)),
                    Catch::Matchers::Contains("places 5 layers but the model has 4"));
  const Scenario uneven = scenario(scenario_json(plan("[2, 1, 1, 0]"), R"({"policy": "topk"})", "{}", model));
  CHECK(uneven.plan.pipeline_layout == std::vector<int>{2, 1, 1, 0});
}
