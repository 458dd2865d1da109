// The analytic step: breakdown consistency, determinism, memory and pipeline behaviour.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <numeric>
#include <sstream>

#include "hardware/topology.hpp"
#include "models/cost_model.hpp"
#include "models/memory_model.hpp"
#include "sim/estimator.hpp"
#include "sim/result_json.hpp"
#include "sim/simulate.hpp"
#include "sim/summary_table.hpp"
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

namespace {
// The pipeline bubble as a share of the steady compute and communication of the critical
// GPU, and of the step, for pp = 4 and `vp` model chunks per stage.
struct Bubble {
  double of_steady, of_step;
};
Bubble pipeline_bubble(int micro_batches, int vp) {
  const Scenario s = scenario(scenario_json(R"({"dp": 2, "pp": 4, "ep": 2, "seq_len": 1024, "vp": )" +
                                                std::to_string(vp) + R"(, "micro_batches": )" +
                                                std::to_string(micro_batches) + "}",
                                            R"({"capacity_factor": null})", R"({"alpha": 1e6, "noise": 1e3})",
                                            // Equal stages: a tiny output layer, so that the last stage is no
                                            // slower than the others.
                                            R"({"preset": "mixtral-8x7b", "vocab": 8})",
                                            // Free links: pipeline messages take no time, so only the
                                            // schedule's bubble remains; no host time, which the
                                            // tiny output layer's launches would otherwise add to
                                            // the last stage.
                                            R"({"preset": "dgx-h100", "nodes": 1, "nvlink_GBps": 1e9, "nvlink_latency_us": 0, )"
                                            R"("host_us_per_kernel": 0})"));
  const StepResult r = simulate(s);
  double bubble = 0, steady = 0;
  for (const auto& [name, seconds] : r.breakdown_s) {
    if (name == "pipeline_bubble") bubble = seconds;
    else if (name != "grad_sync" && name != "optimizer") steady += seconds;
  }
  return {bubble / steady, bubble / r.step_time_s};
}

// A step's breakdown, by part.
std::map<std::string, double> parts_of(const Scenario& s) {
  std::map<std::string, double> parts;
  for (const auto& [part, seconds] : simulate(s).breakdown_s) parts[part] = seconds;
  return parts;
}

// One Qwen3-30B-A3B layer with 16 experts on one H200, 64 tokens (512 expert rows), dropless,
// no host time; `plan_extra` adds plan keys (", \"key\": value").
Scenario qwen3_layer_on_one_h200(const std::string& plan_extra) {
  return scenario(scenario_json(R"({"dp": 1, "ep": 1, "micro_batches": 1, "seq_len": 64)" + plan_extra + "}",
                                R"({"policy": "dropless"})", R"({"alpha": 1000, "seed": 0})",
                                R"({"preset": "qwen3-30b-a3b", "layers": 1, "experts": 16})",
                                R"({"preset": "hgx-h200", "nodes": 1, "gpus_per_node": 1, "host_us_per_kernel": 0})"));
}
}  // namespace

TEST_CASE("1F1B bubble: (pp - 1) stage times and more micro-batches amortise it", "[estimator]") {
  // Near-uniform routing: bubble / steady = (pp - 1) / micro_batches. Sampling noise still
  // gives a GPU an extra GEMM tile in some micro-batches, which the pipeline turns into
  // small waits: 5 % tolerance.
  CHECK(pipeline_bubble(4, 1).of_steady == Approx(3.0 / 4).epsilon(0.05));
  CHECK(pipeline_bubble(16, 1).of_steady == Approx(3.0 / 16).epsilon(0.05));
  CHECK(pipeline_bubble(16, 1).of_step < pipeline_bubble(4, 1).of_step);
}

TEST_CASE("interleaved 1F1B: the bubble is (pp - 1) / (vp x micro_batches) of the ideal", "[estimator]") {
  // Narayanan et al. 2021, Sec. 2.2.2: each stage's idle time shrinks from (p - 1)(t_f + t_b)
  // to (p - 1)(t_f + t_b) / v when each stage holds v chunks of L / (p v) layers.
  CHECK(pipeline_bubble(8, 2).of_steady == Approx(3.0 / (2 * 8)).epsilon(0.05));
  CHECK(pipeline_bubble(8, 4).of_steady == Approx(3.0 / (4 * 8)).epsilon(0.05));
  CHECK(pipeline_bubble(8, 4).of_step < pipeline_bubble(8, 1).of_step);
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
  // With element-wise kernels made free (HBM without limit, no launch cost), attention per
  // token and layer costs 3 P / R for the projections (forward and twice in backward) and
  // C / B (1 / e_f + 2.5 / e_b) for the fused core, where R is the GEMM rate (g x peak of the
  // compute dtype), B the BF16 peak, e_f and e_b the core's forward and backward efficiencies.
  // FP8 multiplies R by r = (FP8 peak x FP8 efficiency) / (BF16 peak x BF16 efficiency)
  // (H100: 1978.9 x 0.70 / (989.4 x 0.75)), not the core's term.
  Scenario bf16 = scenario(scenario_json(R"({"dp": 8, "ep": 8, "micro_batches": 1, "seq_len": 4096})"));
  bf16.cluster.gpu.hbm_Bps = 1e30;
  bf16.cluster.kernel_overhead_s = bf16.cluster.gemm_overhead_s = 0;
  Scenario fp8 = bf16;
  fp8.model.compute_dtype = Dtype::FP8;
  const ClusterSpec& c = bf16.cluster;
  const double p = bf16.model.attention_projection_flops_per_token();
  const double core = bf16.model.attention_core_flops_per_token(4096);
  const auto attention_s = [](const Scenario& s) {
    for (const auto& [part, seconds] : simulate(s).breakdown_s)
      if (part == "attention") return seconds;
    return 0.0;
  };
  const double g = c.gemm_efficiency, r = c.gpu.peak_fp8_flops * c.fp8_gemm_efficiency / (c.gpu.peak_bf16_flops * g);
  // 4096 causal tokens: each tile of queries computes 16 blocks of keys, plus its fixed time
  const double tile_share = 16 / (16 + ATTENTION_TILE_OVERHEAD_BLOCKS);
  const double core_term =
      core * (1 / c.gpu.attention_forward_efficiency + 2.5 / c.gpu.attention_backward_efficiency) / tile_share;
  CHECK(attention_s(fp8) / attention_s(bf16) == Approx((3 * p / (r * g) + core_term) / (3 * p / g + core_term)).epsilon(1e-9));
}

TEST_CASE("fused attention: head dim 64 at FlashAttention-3's cuDNN rates, windowed layers' core cut to the window",
          "[estimator]") {
  Scenario s = scenario(scenario_json(R"({"dp": 8, "ep": 8, "micro_batches": 1, "seq_len": 4096})", R"({"policy": "topk"})",
                                      "{}", R"({"preset": "gpt-oss-120b", "layers": 2})"));
  const CostModel cost = CostModel::in_training(s.cluster, s.model.compute_dtype);
  const double flops = 1e12;
  // cuDNN on an H100 at 4k tokens: head dim 64 forward 408, backward 417 TFLOPS; 128: 609, 499
  const double blocks = 16;
  const auto core_s = [&](double f, bool bwd, int head_dim) {
    return cost.attention_core_s(f, bwd, head_dim, head_dim, blocks, AttentionDtype::BF16);
  };
  CHECK(core_s(flops, false, 64) / core_s(flops, false, 128) == Approx(609.0 / 408));
  CHECK(core_s(flops, true, 64) / core_s(flops, true, 128) == Approx(499.0 / 417));
  CHECK(core_s(flops, false, 96) < core_s(flops, false, 64));
  CHECK(core_s(flops, false, 96) > core_s(flops, false, 128));
  CHECK(core_s(flops, false, 192) == core_s(flops, false, 128));
  // Layer 0 of two attends within 128 keys. Its kernel computes whole blocks of 128 keys: the
  // window's and the diagonal one, 256 keys (2 blocks) per query against 2048 (16 blocks) for
  // a full causal layer at 4096 tokens, forward and backward at head dim 64's rates (tokens:
  // one micro-batch of 4096).
  const auto attention_s = [](const Scenario& sc) { return part(simulate(sc), "attention"); };
  const double windowed = attention_s(s);
  Scenario full = s;
  full.model.attention.sliding_window = 0;
  const double flops_per_key = s.model.mixing_core_flops_per_token(1, 4096) / 2048;
  const auto layer_core_s = [&](double keys) {
    const double f = 4096 * flops_per_key * keys;
    return cost.attention_core_s(f, false, 64, 64, keys / 128, AttentionDtype::BF16) +
           cost.attention_core_s(f, true, 64, 64, keys / 128, AttentionDtype::BF16);
  };
  CHECK(attention_s(full) - windowed == Approx(layer_core_s(2048) - layer_core_s(256)).epsilon(1e-9));
}

TEST_CASE("fused attention: a query tile's fixed time is 5 key blocks' as fitted on cuDNN's benchmark", "[estimator]") {
  const ClusterSpec c = *cluster_presets().find("gb200-nvl72");
  const CostModel cost(c, Dtype::BF16);
  const double flops = 1e12, peak = c.gpu.peak_bf16_flops;
  const auto core_s = [&](bool bwd, int qk, int v, double blocks) {
    return cost.attention_core_s(flops, bwd, qk, v, blocks, AttentionDtype::BF16);
  };
  // long-sequence rate times blocks / (blocks + 5): 4096 causal tokens compute 16 blocks per tile
  CHECK(core_s(false, 128, 128, 16) == Approx(flops / (peak * c.gpu.attention_forward_efficiency * 16 / 21)));
  CHECK(core_s(true, 128, 128, 16) == Approx(2.5 * flops / (peak * c.gpu.attention_backward_efficiency * 16 / 21)));
  // MLA's 192-wide keys and 128-wide values: the backward's five matmuls do (3 x 192 + 2 x 128)
  // / (192 + 128) = 2.6x the forward's FLOPs, at 0.887 of the head dim 128 rate (cuDNN's MLA
  // runs); the forward at the 128 rate
  CHECK(core_s(true, 192, 128, 16) / core_s(true, 128, 128, 16) == Approx(2.6 / 2.5 / 0.887));
  CHECK(core_s(false, 192, 128, 16) == core_s(false, 128, 128, 16));
  // twice the sequence, twice the blocks per tile: the same FLOPs run faster, never above the asymptote
  CHECK(core_s(false, 128, 128, 32) < core_s(false, 128, 128, 16));
  CHECK(core_s(false, 128, 128, 1e9) == Approx(flops / (peak * c.gpu.attention_forward_efficiency)));
  // a 128-key window (2 blocks with the diagonal one) runs at 2/7 of the long-sequence rate
  CHECK(core_s(false, 128, 128, 2) / core_s(false, 128, 128, 1e9) == Approx(3.5).epsilon(1e-6));
  CHECK(CostModel::causal_computed_keys(4096, 0) == 2048);
  CHECK(CostModel::causal_computed_keys(4096, 128) == 256);
  CHECK(CostModel::causal_computed_keys(4096, 4096) == 2048);
}

TEST_CASE("FP8 attention runs at the GPU's FP8 rates, and its backward computes a window's whole causal range",
          "[estimator]") {
  const ClusterSpec c = *cluster_presets().find("gb200-nvl72");
  const CostModel cost(c, Dtype::FP8);
  const double flops = 1e12, fp8_peak = c.gpu.peak_fp8_flops, tile_share = 16.0 / 21;
  // head dim 128: the FP8 peak times the fitted efficiency (GB200 FP8 0.475 forward, 0.337
  // backward; MXFP8 0.443, 0.294: validation/calibration/fit_attention.py), the same 5 blocks'
  // fixed time per tile, the backward's 2.5x FLOPs
  const auto core_s = [&](bool bwd, AttentionDtype d) { return cost.attention_core_s(flops, bwd, 128, 128, 16, d); };
  CHECK(core_s(false, AttentionDtype::FP8) == Approx(flops / (fp8_peak * 0.475 * tile_share)));
  CHECK(core_s(true, AttentionDtype::FP8) == Approx(2.5 * flops / (fp8_peak * 0.337 * tile_share)));
  CHECK(core_s(false, AttentionDtype::MXFP8) == Approx(flops / (fp8_peak * 0.443 * tile_share)));
  CHECK(core_s(true, AttentionDtype::MXFP8) == Approx(2.5 * flops / (fp8_peak * 0.294 * tile_share)));
  // FP8's own head-dim rates: MLA's 192-wide keys forward 1.111 and backward 1.250 of the 128
  // rate, head dim 64's backward 0.604 (BF16: 1, 0.887 and 417/499)
  const auto ratio = [&](int head_dim, bool bwd, AttentionDtype d) {
    return cost.attention_core_s(flops, bwd, head_dim, head_dim == 192 ? 128 : head_dim, 16, d) /
           cost.attention_core_s(flops, bwd, 128, 128, 16, d);
  };
  CHECK(ratio(192, false, AttentionDtype::FP8) == Approx(1 / 1.111));
  CHECK(ratio(192, true, AttentionDtype::MXFP8) == Approx(2.6 / 2.5 / 1.250));
  CHECK(ratio(64, true, AttentionDtype::FP8) == Approx(1 / 0.604));
  CHECK(ratio(64, false, AttentionDtype::FP8) == Approx(ratio(64, false, AttentionDtype::BF16)));

  // GPT-OSS's layer 0 of two attends within 128 keys. In FP8 its forward computes the window's
  // 2 blocks, its backward all 16 of the causal mask at 4096 tokens (cuDNN's FP8 backward skips
  // no windowed block): removing the window changes the forward alone.
  Scenario s = scenario(scenario_json(R"({"dp": 72, "ep": 8, "micro_batches": 1, "seq_len": 4096})", R"({"policy": "topk"})",
                                      "{}",
                                      R"({"preset": "gpt-oss-120b", "layers": 2, "compute_dtype": "fp8", "attention_dtype": "mxfp8"})",
                                      R"({"preset": "gb200-nvl72", "nodes": 1})"));
  const CostModel training = CostModel::in_training(s.cluster, Dtype::FP8);
  Scenario full = s;
  full.model.attention.sliding_window = 0;
  const double flops_per_key = s.model.mixing_core_flops_per_token(1, 4096) / 2048;
  const auto layer_s = [&](double keys, bool bwd) {
    return training.attention_core_s(4096 * flops_per_key * keys, bwd, 64, 64, keys / 128, AttentionDtype::MXFP8);
  };
  CHECK(part(simulate(full), "attention") - part(simulate(s), "attention") ==
        Approx(layer_s(2048, false) - layer_s(256, false)).epsilon(1e-9));
  // and in BF16 the backward is cut to the window too
  Scenario bf16 = s, bf16_full = full;
  bf16.model.attention_dtype = bf16_full.model.attention_dtype = AttentionDtype::BF16;
  const auto bf16_core_s = [&](double keys, bool bwd) {
    return training.attention_core_s(4096 * flops_per_key * keys, bwd, 64, 64, keys / 128, AttentionDtype::BF16);
  };
  CHECK(part(simulate(bf16_full), "attention") - part(simulate(bf16), "attention") ==
        Approx(bf16_core_s(2048, false) + bf16_core_s(2048, true) - bf16_core_s(256, false) - bf16_core_s(256, true))
            .epsilon(1e-9));
}

TEST_CASE("overlapped gradient reduce: only the first layer's sync and the embedding's are exposed", "[estimator]") {
  // One stage, DP 16 over two nodes (EDP 2), a fast NIC so that each layer's sync finishes
  // during the next layer's backward. The syncs of layer 0 (the last backward) start when the
  // backward ends: the step waits max(dense, expert) for them, then the embedding's blocking
  // all-reduce.
  Scenario s = scenario(scenario_json(R"({"dp": 16, "ep": 8, "micro_batches": 4, "seq_len": 2048})",
                                      R"({"capacity_factor": null})", R"({"alpha": 1e6, "noise": 1e3})",
                                      R"({"preset": "olmoe-1b-7b"})",
                                      R"({"preset": "dgx-h100", "nodes": 2, "nic_GBps": 1000})"));
  const auto grad_sync_s = [](const StepResult& r) { return part(r, "grad_sync"); };
  const StepResult blocking = simulate(s);
  s.plan.overlap_grad_reduce = true;
  const StepResult overlapped = simulate(s);
  const CostModel cost(s.cluster, s.model.compute_dtype);
  const double gradient_bytes = 4;  // FP32, no distributed optimizer
  // DP 16: 8 members on each of the 2 nodes; EDP 2: one on each
  const double dense0 = cost.ring_allreduce_s(gradient_bytes * layer_dense_params_per_gpu(s.model, s.plan, 0), 16, 2);
  const double expert0 = cost.ring_allreduce_s(gradient_bytes * layer_expert_params_per_gpu(s.model, s.plan, 0), 2, 2);
  const double embedding = cost.ring_allreduce_s(gradient_bytes * s.model.embedding_params(), 16, 2);
  CHECK(grad_sync_s(overlapped) == Approx(std::max(dense0, expert0) + embedding).epsilon(1e-6));
  CHECK(grad_sync_s(overlapped) < grad_sync_s(blocking));
  CHECK(blocking.step_time_s - overlapped.step_time_s == Approx(grad_sync_s(blocking) - grad_sync_s(overlapped)).epsilon(1e-6));
}

TEST_CASE("the distributed optimizer's weight all-gather waits the first forward, and BF16 gradients halve the sync",
          "[estimator]") {
  // One MoE layer, DP 16 over two nodes (EDP 2), a slow NIC. The layer's weight all-gathers
  // start with the step and its first forward waits for them (nothing computes before it);
  // its gradient reduce-scatters start after the last backward and the step waits for them;
  // then the embedding's blocking reduce-scatter and all-gather. A ring all-gather or
  // reduce-scatter of b bytes per member costs what an all-reduce of b / 2 does.
  Scenario s = scenario(scenario_json(
      R"({"dp": 16, "ep": 8, "micro_batches": 2, "seq_len": 2048, "distributed_optimizer": true,
          "overlap_grad_reduce": true})",
      R"({"capacity_factor": null})", R"({"alpha": 1e6, "noise": 1e3})", R"({"preset": "olmoe-1b-7b", "layers": 1})",
      R"({"preset": "dgx-h100", "nodes": 2, "nic_GBps": 5})"));
  const CostModel cost(s.cluster, s.model.compute_dtype);
  const double dense = layer_dense_params_per_gpu(s.model, s.plan, 0), expert = layer_expert_params_per_gpu(s.model, s.plan, 0);
  const auto expected_s = [&](double gradient_bytes) {
    const auto ring = [&](double bytes_per_param, double params, int n) { return cost.ring_allreduce_s(bytes_per_param * params, n, 2); };
    const double gathers = std::max(ring(1, dense, 16), ring(1, expert, 2));                               // BF16 weights / 2
    const double reduces = std::max(ring(gradient_bytes / 2, dense, 16), ring(gradient_bytes / 2, expert, 2));
    const double embedding = ring((gradient_bytes + 2) / 2, s.model.embedding_params(), 16);
    return gathers + reduces + embedding;
  };
  const StepResult fp32 = simulate(s);
  s.plan.gradient_dtype = Dtype::BF16;
  const StepResult bf16 = simulate(s);
  CHECK(part(fp32, "grad_sync") == Approx(expected_s(4)).epsilon(1e-6));
  CHECK(part(bf16, "grad_sync") == Approx(expected_s(2)).epsilon(1e-6));
  CHECK(fp32.step_time_s - bf16.step_time_s == Approx(expected_s(4) - expected_s(2)).epsilon(1e-6));
  CHECK(fp32.memory.gradients_bytes == 2 * bf16.memory.gradients_bytes);
}

TEST_CASE("plan ranking's program of units times the step as the full one-GPU-per-stage program", "[estimator]") {
  // estimate_step keeps each distinct unit once and runs a stage's units in the pipeline
  // order; simulate() with the analytic engine walks every op. Same step, breakdown and
  // stragglers, up to the rounding of sums taken in another order. Plans: 1F1B, interleaved,
  // several routed samples (units repeat with period 3 over 8 micro-batches), recomputation,
  // the distributed optimizer with overlapped gradient syncs (units that start syncs), shared
  // experts beside the all-to-alls (pieces that start and wait for their all-to-alls), and
  // the combined order (pairs of units merged, with and without a pipeline; a pair that
  // holds the step's last backward, which starts gradient syncs).
  const std::vector<std::string> plans = {
      R"({"dp": 2, "pp": 4, "ep": 2, "micro_batches": 8, "seq_len": 1024})",
      R"({"dp": 4, "pp": 2, "vp": 2, "ep": 4, "micro_batches": 8, "seq_len": 1024})",
      R"({"dp": 4, "tp": 2, "ep": 4, "micro_batches": 3, "seq_len": 1024, "recompute": "full"})",
      R"({"dp": 2, "pp": 4, "ep": 2, "micro_batches": 8, "seq_len": 1024, "distributed_optimizer": true, "overlap_grad_reduce": true})",
      R"({"dp": 4, "pp": 2, "vp": 4, "ep": 2, "micro_batches": 4, "seq_len": 1024, "overlap_grad_reduce": true})",
      R"({"dp": 2, "pp": 4, "ep": 2, "micro_batches": 8, "seq_len": 1024, "overlap_shared_experts": true, "ep_comm_sms": 20})",
      R"({"dp": 4, "pp": 2, "vp": 2, "ep": 4, "micro_batches": 4, "seq_len": 1024, "overlap_shared_experts": true, "overlap_grad_reduce": true})",
      R"({"dp": 8, "ep": 8, "micro_batches": 6, "seq_len": 1024, "overlap_ep_comm": true, "ep_comm_sms": 20})",
      R"({"dp": 4, "pp": 2, "vp": 2, "ep": 4, "micro_batches": 6, "seq_len": 1024, "overlap_ep_comm": true, "overlap_grad_reduce": true, "distributed_optimizer": true})",
      R"({"dp": 2, "pp": 4, "vp": 2, "ep": 2, "micro_batches": 8, "seq_len": 1024, "overlap_ep_comm": true})",
      // context parallelism (pieces that start and wait for their key/value ring) and FSDP
      // (pieces that start the next piece's weight gather and the previous one's gradient
      // reduce-scatter), FSDP under interleaving and under the combined order
      R"({"dp": 4, "cp": 2, "ep": 4, "micro_batches": 4, "seq_len": 1024})",
      R"({"dp": 2, "pp": 4, "ep": 2, "micro_batches": 8, "seq_len": 1024, "fsdp": true})",
      R"({"dp": 4, "pp": 2, "vp": 2, "ep": 2, "micro_batches": 4, "seq_len": 1024, "fsdp": true, "overlap_grad_reduce": true})",
      R"({"dp": 8, "ep": 4, "micro_batches": 4, "seq_len": 1024, "overlap_ep_comm": true, "fsdp": true})"};
  for (const std::string& plan : plans) {
    CAPTURE(plan);
    const Scenario s = scenario(scenario_json(plan, R"({"capacity_factor": 1.0})", R"({"alpha": 0.3, "seed": 5})",
                                              R"({"preset": "mixtral-8x7b", "shared_experts": 1})",
                                              R"({"preset": "dgx-h100", "nodes": 1})"));
    Scenario routed_thrice = s;
    routed_thrice.sim.routed_micro_batches = 3;
    for (const Scenario& each : {s, routed_thrice}) {
      const Simulation full = simulate_step(each);
      const StepResult folded = estimate_step(each, Topology(each.cluster), *full.routed);
      CHECK(folded.step_time_s == Approx(full.result.step_time_s).epsilon(1e-12));
      REQUIRE(folded.breakdown_s.size() == full.result.breakdown_s.size());
      for (size_t i = 0; i < folded.breakdown_s.size(); ++i) {
        CAPTURE(folded.breakdown_s[i].first);
        CHECK(folded.breakdown_s[i].second == Approx(full.result.breakdown_s[i].second).epsilon(1e-9).margin(1e-12));
      }
      REQUIRE(folded.stragglers.size() == full.result.stragglers.size());
      for (size_t i = 0; i < folded.stragglers.size(); ++i) {
        CHECK(folded.stragglers[i].gpu == full.result.stragglers[i].gpu);
        CHECK(folded.stragglers[i].combines == full.result.stragglers[i].combines);
        CHECK(folded.stragglers[i].mean_wait_s == Approx(full.result.stragglers[i].mean_wait_s).epsilon(1e-9));
      }
    }
  }
}

TEST_CASE("a plan estimator that keeps layer times gives each plan's estimate_step figures", "[estimator]") {
  // One routing (EP 4 of 16 GPUs, 1024 tokens per GPU), plans that share layer shapes (pp,
  // vp, dp, micro-batches change) and some that do not (tp 2 with 2 sequences per
  // micro-batch, full recomputation), each asked twice in turn: the second time every
  // layer's times are reused. The last plans run ZeRO-1 with overlapped gradient reduce
  // (stage-opening weight all-gathers that the first forward waits for, with and without
  // interleaving, whose unit order a later plan replays).
  const Scenario s = scenario(scenario_json(R"({"dp": 16, "ep": 4, "micro_batches": 8, "seq_len": 1024})",
                                            R"({"capacity_factor": 1.25})", R"({"alpha": 0.5, "seed": 9})",
                                            R"({"preset": "mixtral-8x7b"})", R"({"preset": "dgx-h100", "nodes": 2})"));
  const Topology topology(s.cluster);
  const RoutedStep routed = route_step(s, topology);
  std::vector<ParallelPlan> plans;
  // Then FSDP (per-layer transfers whose groups follow dp) and context parallelism; FSDP and
  // partial recomputation at the same dp with other chunks (pp 2 with and without vp).
  for (const auto& [tp, pp, vp, recompute, zero1, fsdp, cp] : std::vector<std::tuple<int, int, int, const char*, bool, bool, int>>{
           {1, 1, 1, "none", false, false, 1}, {1, 4, 1, "none", false, false, 1}, {1, 2, 4, "none", false, false, 1},
           {2, 2, 1, "none", false, false, 1}, {1, 4, 2, "full", false, false, 1}, {1, 4, 1, "none", true, false, 1},
           {1, 2, 4, "none", true, false, 1}, {1, 1, 1, "none", true, false, 1}, {1, 1, 1, "none", false, true, 1},
           {1, 4, 1, "none", false, true, 1}, {1, 2, 1, "none", false, false, 2}, {1, 1, 1, "none", false, true, 2},
           {1, 2, 1, "none", false, true, 1}, {1, 2, 2, "none", false, true, 1}, {1, 2, 1, "full", false, false, 1},
           {1, 2, 2, "full", false, false, 1}}) {
    ParallelPlan p = s.plan;
    p.tp = tp, p.pp = pp, p.vp = vp, p.recompute = recompute, p.cp = cp, p.fsdp = fsdp;
    p.recompute_layers = recompute == std::string("full") && pp == 2 ? 1 : 0;  // the last two: first layer of each chunk
    p.distributed_optimizer = p.overlap_grad_reduce = zero1;
    p.dp = 16 / (tp * pp * cp);
    p.micro_batch_size = tp * cp;  // tokens per GPU stay, as the routing needs
    p.micro_batches = 128 / (p.dp * p.micro_batch_size);  // the same global batch
    plans.push_back(p);
  }
  PlanEstimator estimator(s, routed);
  for (int round = 0; round < 2; ++round)
    for (const ParallelPlan& p : plans) {
      CAPTURE(round, p.tp, p.pp, p.vp, p.recompute, p.distributed_optimizer, p.fsdp, p.cp);
      Scenario alone = s;
      alone.plan = p;
      REQUIRE_FALSE(plan_problem(p, s.model, s.cluster));
      const StepResult expected = estimate_step(alone, topology, routed);
      const StepResult kept = estimator.estimate(p);
      CHECK(kept.step_time_s == Approx(expected.step_time_s).epsilon(1e-12));
      for (size_t i = 0; i < kept.breakdown_s.size(); ++i)
        CHECK(kept.breakdown_s[i].second == Approx(expected.breakdown_s[i].second).epsilon(1e-12).margin(1e-15));
      REQUIRE(kept.stragglers.size() == expected.stragglers.size());
      for (size_t i = 0; i < kept.stragglers.size(); ++i) {
        CHECK(kept.stragglers[i].gpu == expected.stragglers[i].gpu);
        CHECK(kept.stragglers[i].max_wait_s == Approx(expected.stragglers[i].max_wait_s).epsilon(1e-12));
      }
    }
}

TEST_CASE("shared experts beside the all-to-alls: hidden communication, and compute slowed by the SMs it takes", "[estimator]") {
  // OLMoE with a shared expert, EP 8 over two nodes (inter-node all-to-alls), one stage.
  const auto run = [](int shared, bool overlap, int comm_sms) {
    Scenario s = scenario(scenario_json(R"({"dp": 16, "ep": 8, "micro_batches": 2, "seq_len": 2048})",
                                        R"({"capacity_factor": null})", R"({"alpha": 2.0, "seed": 4})",
                                        R"({"preset": "olmoe-1b-7b", "shared_experts": )" + std::to_string(shared) + "}",
                                        R"({"preset": "dgx-h100", "nodes": 2})"));
    s.plan.overlap_shared_experts = overlap;
    s.plan.ep_comm_sms = comm_sms;
    std::map<std::string, double> parts;
    const StepResult r = simulate(s);
    for (const auto& [part, seconds] : r.breakdown_s) parts[part] = seconds;
    parts["step"] = r.step_time_s;
    return parts;
  };
  auto plain = run(1, false, 0), beside = run(1, true, 0), slowed = run(1, true, 20), none = run(0, false, 0);
  // The shared experts still compute as long; what the step saves is all-to-all time (and the
  // slowest expert's lag before the combine) spent while they ran.
  CHECK(beside["dense_ffn"] == Approx(plain["dense_ffn"]).epsilon(1e-12));
  const double hidden = plain["dispatch"] + plain["combine"] + plain["straggler_wait"] - beside["dispatch"] -
                        beside["combine"] - beside["straggler_wait"];
  CHECK(hidden > 0);
  CHECK(plain["step"] - beside["step"] == Approx(hidden).epsilon(1e-9));
  // Beside a kernel holding 20 of the H100's 132 SMs, the shared expert (its time: plain minus
  // none) takes 132 / 112 as long: each inter-node all-to-all outlasts the part beside it, so
  // that part is slowed all through (SMs come back only when the all-to-all ends).
  const double shared_s = plain["dense_ffn"] - none["dense_ffn"];
  CHECK(shared_s > 0);
  CHECK(slowed["dense_ffn"] - beside["dense_ffn"] == Approx(shared_s * (132.0 / 112 - 1)).epsilon(1e-9));
}

TEST_CASE("combined 1F1B hides each paired unit's all-to-alls behind the other's compute", "[estimator]") {
  // Mixtral on one DGX H100, EP 8, no pipeline, m = 6 micro-batches of one routed sample:
  // forward 0 alone, then forward i + 1 with backward i, then backward 5 alone. Inside a node
  // every all-to-all is shorter than the computation beside it, so all of the pairs' all-to-all
  // time is hidden: (m - 1) / m of the step's. The slowest expert's lag is not: that GPU runs
  // the other micro-batch's computation as late.
  const auto run = [](bool combined, int comm_sms) {
    Scenario s = scenario(scenario_json(R"({"dp": 8, "ep": 8, "micro_batches": 6, "seq_len": 2048})",
                                        R"({"capacity_factor": null})", R"({"alpha": 1e6, "seed": 2})",
                                        R"({"preset": "mixtral-8x7b", "layers": 4})", R"({"preset": "dgx-h100", "nodes": 1})"));
    s.plan.overlap_ep_comm = combined;
    s.plan.ep_comm_sms = comm_sms;
    s.sim.routed_micro_batches = 1;  // every micro-batch routed alike: the pairs' all-to-alls are the mean
    std::map<std::string, double> parts;
    const StepResult r = simulate(s);
    for (const auto& [part, seconds] : r.breakdown_s) parts[part] = seconds;
    parts["step"] = r.step_time_s;
    return parts;
  };
  auto plain = run(false, 0), combined = run(true, 0), slowed = run(true, 20);
  const double all_to_all = plain["dispatch"] + plain["combine"];
  CHECK(all_to_all > 0);
  CHECK(plain["straggler_wait"] > 0);
  CHECK(plain["step"] - combined["step"] == Approx(all_to_all * 5 / 6).epsilon(1e-9));
  CHECK(combined["dispatch"] + combined["combine"] == Approx(all_to_all / 6).epsilon(1e-9));
  CHECK(combined["straggler_wait"] == Approx(plain["straggler_wait"]).epsilon(1e-9));
  CHECK(combined["expert_compute"] == Approx(plain["expert_compute"]).epsilon(1e-12));
  // Beside an all-to-all holding 20 of 132 SMs the computation runs at 112 / 132 of its speed
  // while the all-to-all runs, at full speed after it. Each paired all-to-all is shorter than
  // the computation beside it, so each adds its own time x (1 - 112 / 132) to the step; the
  // unpaired first forward and last backward keep every SM.
  CHECK(slowed["step"] - combined["step"] == Approx(all_to_all * 5 / 6 * (1 - 112.0 / 132)).epsilon(1e-9));
  CHECK(slowed["expert_compute"] > combined["expert_compute"]);
}

TEST_CASE("combined 1F1B: the discrete-event engine agrees with the analytic one", "[estimator][des]") {
  Scenario s = scenario(scenario_json(R"({"dp": 4, "pp": 2, "vp": 2, "ep": 4, "micro_batches": 4, "seq_len": 1024, "overlap_ep_comm": true})",
                                      R"({"capacity_factor": 1.25})", R"({"alpha": 2.0, "seed": 3})",
                                      R"({"preset": "mixtral-8x7b", "layers": 4})", R"({"preset": "dgx-h100", "nodes": 1})"));
  for (bool combined : {false, true}) {
    s.plan.overlap_ep_comm = combined;
    s.sim.engine = "analytic";
    const double analytic = simulate(s).step_time_s;
    s.sim.engine = "des";
    CAPTURE(combined);
    CHECK(simulate(s).step_time_s == Approx(analytic).epsilon(0.05));
  }
}

TEST_CASE("ring all-reduce: NCCL's protocol latencies, and one channel per member of a node across nodes", "[estimator]") {
  ClusterSpec c = *cluster_presets().find("dgx-h100");
  c.nodes = 2;
  const CostModel cost(c, Dtype::BF16);
  const double nvlink = c.nvlink_payload_Bps(), nic = c.nic_payload_Bps();
  // 1 KiB on one node of 8: LL, NCCL's 6.6 us base and 0.6 us per step over NVLink, 14 steps;
  // half the bandwidth, capped for Hopper at 141 GB/s (nothing else comes close at this size)
  const double ring_kib = 2.0 * 7 / 8 * 1024;
  CHECK(cost.ring_allreduce_s(1024, 8, 1) == Approx(6.6e-6 + 14 * 0.6e-6 + ring_kib / std::min(0.5 * nvlink, 141e9)));
  // LL's cap, NCCL's llMaxBws: Hopper 141 GB/s in one node, 39 over two nodes (Intel and Arm
  // hosts), 20.4 over more; Ampere 87.7 in one node
  const auto ll_share = [](const CostModel& m, int n, int nodes) { return m.ring_prices(n, nodes).bandwidth_share[0]; };
  const auto rate = [](const CostModel& m, int n, int nodes) { return m.ring_prices(n, nodes).rate_Bps; };
  CHECK(ll_share(cost, 8, 1) * rate(cost, 8, 1) == Approx(141e9));
  CHECK(ll_share(cost, 16, 2) * rate(cost, 16, 2) == Approx(39e9));
  ClusterSpec four = c;
  four.nodes = 4;
  const CostModel four_nodes(four, Dtype::BF16);
  CHECK(ll_share(four_nodes, 32, 4) * rate(four_nodes, 32, 4) == Approx(20.4e9));
  const CostModel a100(*cluster_presets().find("dgx-a100"), Dtype::BF16);
  CHECK(ll_share(a100, 8, 1) * rate(a100, 8, 1) == Approx(87.7e9));
  // where half the link is below the cap, LL keeps its half
  ClusterSpec slow = c;
  slow.nvlink_Bps = 100e9;
  const CostModel slow_links(slow, Dtype::BF16);
  CHECK(ll_share(slow_links, 8, 1) == 0.5);
  // 1 GiB with NVLink SHARP off: the ring's Simple, 8.4 us base and 3.4 us per step, the full
  // payload rate
  const double ring_gib = 2.0 * 7 / 8 * (1 << 30);
  ClusterSpec no_nvls = c;
  no_nvls.nccl_nvls = false;
  CHECK(CostModel(no_nvls, Dtype::BF16).ring_allreduce_s(1 << 30, 8, 1) == Approx(8.4e-6 + 14 * 3.4e-6 + ring_gib / nvlink));
  // 16 GPUs on 2 nodes: 2 of the 30 steps cross the network (Simple: 14 us each; the others
  // 3.4 us, above the host's 3 us per step), and 8 channels share the 8 NICs of a node
  const double ring16 = 2.0 * 15 / 16 * (1 << 30);
  const double two_nodes = cost.ring_allreduce_s(1 << 30, 16, 2);
  CHECK(two_nodes == Approx(8.4e-6 + 28 * 3.4e-6 + 2 * 14e-6 + ring16 / std::min(nvlink, 8 * nic)));
  // one member per node: every step crosses (the tree's network latency), one NIC carries it
  const double ring2 = 2.0 * 1 / 2 * (1 << 30);
  CHECK(cost.ring_allreduce_s(1 << 30, 2, 2) == Approx(8.4e-6 + 2 * 14e-6 + ring2 / nic));
  // the links mode (a calibration profile's): every step at the scope's link latency
  c.nccl_latencies = false;
  const CostModel fitted(c, Dtype::BF16);
  CHECK(fitted.ring_allreduce_s(1 << 30, 16, 2) == Approx(30 * c.nic_latency_s + ring16 / nic));
  CHECK(fitted.ring_allreduce_s(1024, 8, 1) == Approx(14 * c.nvlink_latency_s + ring_kib / nvlink));
}

TEST_CASE("NVLS all-reduce: (1 + 1/n) bytes per byte through the switch at NCCL's NVLS efficiency, 25 us",
          "[estimator]") {
  const ClusterSpec h100 = *cluster_presets().find("dgx-h100");
  const CostModel cost(h100, Dtype::BF16);
  const double nvlink = h100.nvlink_payload_Bps(), gib = 1 << 30;
  // 1 GiB on 8 H100: each port carries 9/8 GiB each way at 0.85 (Hopper) of the payload rate,
  // faster than the ring's 14/8 GiB at the full rate
  const double nvls_gib_s = 25e-6 + 9.0 / 8 * gib / (0.85 * nvlink);
  CHECK(cost.ring_allreduce_s(gib, 8, 1) == Approx(nvls_gib_s));
  CHECK(nvls_gib_s < 8.4e-6 + 14 * 3.4e-6 + 14.0 / 8 * gib / nvlink);
  // nccl-tests' bus bandwidth: 2 (n-1)/n of the bytes over the time, 489 GB/s
  CHECK(14.0 / 8 * gib / cost.ring_allreduce_s(gib, 8, 1) / 1e9 == Approx(489).epsilon(0.01));
  // 2 GPUs: NVLS moves 3/2 of the bytes against the ring's 1, so the ring runs
  const double ring2_gib = 8.4e-6 + 2 * 3.4e-6 + gib / nvlink;
  CHECK(cost.ring_allreduce_s(gib, 2, 1) == Approx(ring2_gib));
  // small all-reduces keep the ring's LL: NVLS's 25 us is more than LL's whole time
  CHECK(cost.ring_allreduce_s(1024, 8, 1) < 25e-6);
  // Blackwell at NCCL's 0.74, A100 (Ampere: no in-switch reduction) and across nodes: none
  const ClusterSpec b200 = *cluster_presets().find("dgx-b200");
  CHECK(CostModel(b200, Dtype::BF16).ring_allreduce_s(gib, 8, 1) == Approx(25e-6 + 9.0 / 8 * gib / (0.74 * b200.nvlink_payload_Bps())));
  const ClusterSpec a100 = *cluster_presets().find("dgx-a100");
  CHECK(CostModel(a100, Dtype::BF16).ring_prices(8, 1).protocols == 3);
  ClusterSpec two = h100;
  two.nodes = 2;
  CHECK(CostModel(two, Dtype::BF16).ring_prices(16, 2).protocols == 3);
}

TEST_CASE("NCCL all-to-all: the protocol's base latency, one hop per peer, the bytes that leave the rank",
          "[estimator]") {
  ClusterSpec c = *cluster_presets().find("dgx-h100");
  c.nodes = 4;
  const CostModel cost(c, Dtype::BF16);
  const double nvlink = c.nvlink_payload_Bps(), nic = c.nic_payload_Bps();
  // 8 KiB per rank on one node of 8: LL (6.6 us base, 0.6 us per NVLink peer) at half the
  // link, under Hopper's 141 GB/s cap; 7/8 of the bytes leave the rank
  CHECK(cost.nccl_alltoall_s(8192, 8, 8) == Approx(6.6e-6 + 7 * 0.6e-6 + 8192 * 7.0 / 8 / std::min(0.5 * nvlink, 141e9)));
  // 1 GiB: Simple (8.4 us, 3.4 us per peer) at the full rate
  CHECK(cost.nccl_alltoall_s(1 << 30, 8, 8) == Approx(8.4e-6 + 7 * 3.4e-6 + (1 << 30) * 7.0 / 8 / nvlink));
  // 32 ranks on 4 nodes: 7 peers over NVLink, 24 over the network (Simple: 14 us each), the
  // bytes at the NIC's rate
  CHECK(cost.nccl_alltoall_s(1 << 30, 32, 8) == Approx(8.4e-6 + 7 * 3.4e-6 + 24 * 14e-6 + (1 << 30) * 31.0 / 32 / nic));
  // more peers wait longer
  CHECK(cost.nccl_alltoall_s(1024, 8, 8) < cost.nccl_alltoall_s(1024, 32, 32));
  // the links mode (a calibration profile's): one latency of the scope
  c.nccl_latencies = false;
  const CostModel fitted(c, Dtype::BF16);
  CHECK(fitted.nccl_alltoall_s(8192, 8, 8) == Approx(c.nvlink_latency_s + 8192 * 7.0 / 8 / nvlink));
}

TEST_CASE("a GPU whose kernels are shorter than their launches waits for the host", "[estimator]") {
  // One Qwen3-30B-A3B layer with 16 experts on one H200, 64 tokens: every kernel takes
  // microseconds. At 1 s of host time per kernel the host sets the step, and host_wait is
  // the kernels counted less the GPU time of the pieces that launch them.
  const auto run = [](double host_us, int experts) {
    Scenario s = scenario(scenario_json(R"({"dp": 1, "ep": 1, "micro_batches": 1, "seq_len": 64})",
                                        R"({"policy": "dropless"})", R"({"alpha": 1000, "seed": 0})",
                                        R"({"preset": "qwen3-30b-a3b", "layers": 1, "experts": )" + std::to_string(experts) + "}",
                                        R"({"preset": "hgx-h200", "nodes": 1, "gpus_per_node": 1, "host_us_per_kernel": )" +
                                            std::to_string(host_us) + "}"));
    std::map<std::string, double> parts;
    const StepResult r = simulate(s);
    for (const auto& [part, seconds] : r.breakdown_s) parts[part] = seconds;
    parts["step"] = r.step_time_s;
    return parts;
  };
  // Launches, forward: attention 3 (projections and core) + 2 (norm, residual add) + 2 (query
  // and key norms); the MoE block 2 (norm, add) + the gate GEMM and 2 router kernels + 16
  // experts x 3 GEMMs + permute, unpermute and the activation = 63. Backward: attention 5 +
  // 2 x 4, the MoE block 2 x 56 = 125. The output layer: its GEMM and the loss's 3 kernels
  // forward, 2 GEMMs and the loss's 1 backward. In all 195.
  auto bound = run(1e6, 16);
  CHECK(bound["host_wait"] == Approx(195.0).margin(0.01));
  // Each more local expert: 3 GEMMs forward, 6 backward.
  CHECK(run(1e6, 32)["host_wait"] == Approx(195.0 + 16 * 9).margin(0.01));
  // Without host time (a CUDA-graphed step) nothing waits, and the GPU's parts are unchanged.
  auto graphed = run(0, 16);
  CHECK(graphed["host_wait"] == 0);
  CHECK(graphed["step"] == Approx(bound["step"] - bound["host_wait"]).epsilon(1e-9));
  for (const char* part : {"attention", "dense_ffn", "expert_compute"}) CHECK(graphed[part] == Approx(bound[part]).epsilon(1e-9));
}

TEST_CASE("Megatron-Core's per-expert output bias: its memory passes per row and eager launches per local expert",
          "[estimator]") {
  // One Qwen3-30B-A3B layer with 16 experts on one H200, 64 tokens (512 expert rows), with and
  // without experts' biases added as Megatron-Core's TEGroupedMLP adds them.
  const auto run = [](const std::string& bias, double host_us) {
    Scenario s = scenario(scenario_json(R"({"dp": 1, "ep": 1, "micro_batches": 1, "seq_len": 64})",
                                        R"({"policy": "dropless"})", R"({"alpha": 1000, "seed": 0})",
                                        R"({"preset": "qwen3-30b-a3b", "layers": 1, "experts": 16, "expert_bias": ")" + bias + "\"}",
                                        R"({"preset": "hgx-h200", "nodes": 1, "gpus_per_node": 1, "host_us_per_kernel": )" +
                                            std::to_string(host_us) + "}"));
    std::map<std::string, double> parts;
    const StepResult r = simulate(s);
    for (const auto& [part, seconds] : r.breakdown_s) parts[part] = seconds;
    return parts;
  };
  const ClusterSpec c = *cluster_presets().find("hgx-h200");
  // Launches: forward 2 per expert + 2, backward 6 per expert + 3 = 34 + 99; each eager launch
  // counts for 182 / 354 of a host kernel (the ratio of the layer host_us_per_kernel was
  // measured on).
  // Host-bound (1 s per kernel), the GPU's extra time hides that much of the extra wait.
  const double launches = 2 * 16 + 2 + 6 * 16 + 3;
  auto bound = run("per_expert", 1e6), bound_none = run("none", 1e6);
  CHECK(bound["host_wait"] + bound["expert_compute"] - bound_none["host_wait"] - bound_none["expert_compute"] ==
        Approx(launches * 182.0 / 354.0).epsilon(1e-9));
  // GPU side: 28 bytes per output value forward and 40 backward over 512 rows of 2048 values,
  // and each launch's overhead; nothing else moves, and "fused" biases cost nothing.
  const double bytes = 512.0 * 2048 * (28 + 40);
  auto none = run("none", 0), per_expert = run("per_expert", 0), fused = run("fused", 0);
  CHECK(per_expert["expert_compute"] - none["expert_compute"] ==
        Approx(CostModel(c, Dtype::BF16).memory_bound_s(bytes) + launches * c.kernel_overhead_s).epsilon(1e-6));
  CHECK(per_expert["attention"] == Approx(none["attention"]).epsilon(1e-12));
  CHECK(fused["expert_compute"] == none["expert_compute"]);
}

TEST_CASE("query and key norms: one pass over the queries and keys, two kernels, each direction", "[estimator]") {
  // One Qwen3-30B-A3B layer on one H200, 64 tokens, with and without its q_norm and k_norm:
  // 64 tokens x (32 + 4) heads x 128 values, read and written in BF16, forward once and
  // backward twice (the backward factor), two kernels each time.
  const auto attention_s = [](bool qk_norm) {
    const Scenario s = scenario(scenario_json(R"({"dp": 1, "ep": 1, "micro_batches": 1, "seq_len": 64})",
                                              R"({"policy": "dropless"})", R"({"alpha": 1000, "seed": 0})",
                                              std::string(R"({"preset": "qwen3-30b-a3b", "layers": 1, "experts": 16, "qk_norm": )") +
                                                  (qk_norm ? "true" : "false") + "}",
                                              R"({"preset": "hgx-h200", "nodes": 1, "gpus_per_node": 1, "host_us_per_kernel": 0})"));
    for (const auto& [part, seconds] : simulate(s).breakdown_s)
      if (part == "attention") return seconds;
    return -1.0;
  };
  const ClusterSpec c = *cluster_presets().find("hgx-h200");
  const double pass_s = CostModel(c, Dtype::BF16).memory_bound_s(64.0 * 36 * 128 * 2 * 2) + 2 * c.kernel_overhead_s;
  CHECK(attention_s(true) - attention_s(false) == Approx(3 * pass_s).epsilon(1e-6));
  CHECK(model_presets().find("qwen3-30b-a3b")->attention.qk_norm);
  CHECK_FALSE(model_presets().find("mixtral-8x7b")->attention.qk_norm);
}

TEST_CASE("Megatron-Core's alltoall dispatcher sorts its rows by local expert and back: two more passes",
          "[estimator]") {
  // One Qwen3-30B-A3B layer with 16 experts on one H200, 64 tokens (512 expert rows of 2048
  // values): per_expert dispatch (the alltoall dispatcher) against per_rank (the flex ones).
  const auto run = [](const std::string& copies) {
    return parts_of(qwen3_layer_on_one_h200(R"(, "dispatch_copies": ")" + copies + "\""));
  };
  const ClusterSpec c = *cluster_presets().find("hgx-h200");
  // Each pass reads and writes every row in BF16, one kernel; forward once, backward twice
  // (the backward factor): 3 x (2 launches + 512 rows x 2 passes x 2 x 2048 x 2 bytes).
  const double pass_s = CostModel(c, Dtype::BF16).memory_bound_s(512.0 * 2 * 2 * 2048 * 2) + 2 * c.kernel_overhead_s;
  auto sorted = run("per_expert"), unsorted = run("per_rank");
  CHECK(sorted["expert_compute"] - unsorted["expert_compute"] == Approx(3 * pass_s).epsilon(1e-6));
  CHECK(sorted["attention"] == unsorted["attention"]);
  // one local expert: nothing to sort
  Scenario one = scenario(scenario_json(R"({"dp": 2, "ep": 2, "micro_batches": 1, "seq_len": 64, "dispatch_copies": "per_expert"})",
                                        R"({"policy": "dropless"})", R"({"alpha": 1000, "seed": 0})",
                                        R"({"preset": "qwen3-30b-a3b", "layers": 1, "experts": 2, "top_k": 2})",
                                        R"({"preset": "hgx-h200", "nodes": 1, "gpus_per_node": 2, "host_us_per_kernel": 0})"));
  Scenario one_per_rank = one;
  one_per_rank.plan.dispatch_copies = "per_rank";
  CHECK(parts_of(one)["expert_compute"] == parts_of(one_per_rank)["expert_compute"]);
}

TEST_CASE("Transformer Engine's GroupedLinear runs one GEMM per local expert and each is tile and wave quantized",
          "[estimator]") {
  // One Qwen3-30B-A3B layer with 16 experts on one H200, 64 tokens: 512 expert rows, 32 per
  // expert. One grouped kernel prices every expert's rows padded to the 128-row tile at the
  // tensor-core time of a row, three matrices of 2048 x 768, forward once and backward twice.
  // One GEMM per expert prices each at its shape: forward the gate and up projections in one
  // GEMM (32 x 1536 x 2048) and the down one (32 x 2048 x 768); backward their data gradients
  // (32 x 2048 x 1536, 32 x 768 x 2048) and weight gradients (1536 x 2048 and 2048 x 768 over
  // the 32 rows).
  const auto run = [](const std::string& gemms) {
    return parts_of(qwen3_layer_on_one_h200(R"(, "expert_gemms": ")" + gemms + "\""));
  };
  const ClusterSpec c = *cluster_presets().find("hgx-h200");
  const CostModel cost = CostModel::in_training(c, Dtype::BF16);
  const auto gemm = [&](double m, double n, double k) { return cost.gemm_s(m, n, k) - c.gemm_overhead_s; };
  const double grouped_s = 3 * 16 * 128 * 3 * cost.gemm_row_s(768, 2048);
  const double per_expert_s = 16 * (gemm(32, 1536, 2048) + gemm(32, 2048, 768) + gemm(32, 2048, 1536) +
                                    gemm(1536, 2048, 32) + gemm(32, 768, 2048) + gemm(2048, 768, 32));
  auto per_expert = run("per_expert"), grouped = run("grouped");
  CHECK(per_expert["expert_compute"] - grouped["expert_compute"] == Approx(per_expert_s - grouped_s).epsilon(1e-6));
  CHECK(per_expert["attention"] == grouped["attention"]);
  // an unknown kind names the field and the choices
  CHECK_THROWS_WITH(run("looped"), Catch::Contains("expert_gemms") && Catch::Contains("grouped, per_expert"));
}

TEST_CASE("Megatron-Core's eager clamp of a gated activation: its memory passes per row and its kernels",
          "[estimator]") {
  // One Qwen3-30B-A3B layer with 16 experts on one H200, 64 tokens (512 expert rows of hidden
  // width 768), with and without GPT-OSS's clamp as Megatron-Core 0.15/0.16 applies it.
  const auto run = [](const std::string& clamp, double host_us, const std::string& plan_extra) {
    Scenario s = scenario(scenario_json(R"({"dp": 1, "ep": 1, "micro_batches": 1, "seq_len": 64)" + plan_extra + "}",
                                        R"({"policy": "dropless"})", R"({"alpha": 1000, "seed": 0})",
                                        R"({"preset": "qwen3-30b-a3b", "layers": 1, "experts": 16, "glu_clamp": ")" + clamp + "\"}",
                                        R"({"preset": "hgx-h200", "nodes": 1, "gpus_per_node": 1, "host_us_per_kernel": )" +
                                            std::to_string(host_us) + "}"));
    std::map<std::string, double> parts;
    for (const auto& [part, seconds] : simulate(s).breakdown_s) parts[part] = seconds;
    return parts;
  };
  const ClusterSpec c = *cluster_presets().find("hgx-h200");
  const CostModel cost(c, Dtype::BF16);
  // GPU side: 16 bytes per hidden value forward (two clamps and the concatenation) and 30
  // backward (clamp_backward's comparisons and where, the halves' gradients concatenated) over
  // 512 rows of 768 values, and 3 + 9 launches' overhead; "fused" costs nothing.
  auto none = run("none", 0, ""), eager = run("eager", 0, ""), fused = run("fused", 0, "");
  CHECK(eager["expert_compute"] - none["expert_compute"] ==
        Approx(cost.memory_bound_s(512.0 * 768 * (16 + 30)) + 12 * c.kernel_overhead_s).epsilon(1e-6));
  CHECK(fused["expert_compute"] == none["expert_compute"]);
  CHECK(eager["attention"] == Approx(none["attention"]).epsilon(1e-12));
  // Recomputing moe_act runs the clamp forward again in the backward, with the activation.
  const std::string moe_act = R"(, "recompute": "selective", "recompute_modules": ["moe_act"])";
  auto none_act = run("none", 0, moe_act), eager_act = run("eager", 0, moe_act);
  CHECK(eager_act["expert_compute"] - none_act["expert_compute"] ==
        Approx(cost.memory_bound_s(512.0 * 768 * (16 + 30 + 16)) + 15 * c.kernel_overhead_s).epsilon(1e-6));
  // Host-bound (1 s per kernel): each eager launch counts 182 / 354 of a host kernel.
  auto bound = run("eager", 1e6, ""), bound_none = run("none", 1e6, "");
  CHECK(bound["host_wait"] + bound["expert_compute"] - bound_none["host_wait"] - bound_none["expert_compute"] ==
        Approx(12 * 182.0 / 354.0).epsilon(1e-9));
}

TEST_CASE("selective recomputation runs each module's forward again in backward", "[estimator]") {
  // One Qwen3-30B-A3B layer with 16 experts on one H200 (64 tokens, 512 expert rows), no host
  // time; each module adds its forward to the backward of the part it belongs to.
  const auto run = [](const std::string& model, const std::string& modules) {
    Scenario s = scenario(scenario_json(R"({"dp": 1, "ep": 1, "micro_batches": 1, "seq_len": 64, "recompute": "selective", )"
                                        R"("recompute_modules": )" + modules + "}",
                                        R"({"policy": "dropless"})", R"({"alpha": 1000, "seed": 0})", model,
                                        R"({"preset": "hgx-h200", "nodes": 1, "gpus_per_node": 1, "host_us_per_kernel": 0})"));
    std::map<std::string, double> parts;
    for (const auto& [part, seconds] : simulate(s).breakdown_s) parts[part] = seconds;
    return parts;
  };
  const ClusterSpec c = *cluster_presets().find("hgx-h200");
  const CostModel cost = CostModel::in_training(c, Dtype::BF16);
  const std::string qwen = R"({"preset": "qwen3-30b-a3b", "layers": 1, "experts": 16})";
  auto none = run(qwen, "[]");
  // layernorm: each block's norm (64 rows of 2048 BF16 values read and written, one kernel)
  auto norms = run(qwen, R"(["layernorm"])");
  const double norm_s = cost.memory_bound_s(64 * 2048 * 4.0) + c.kernel_overhead_s;
  CHECK(norms["attention"] - none["attention"] == Approx(norm_s).epsilon(1e-6));
  CHECK(norms["dense_ffn"] - none["dense_ffn"] == Approx(norm_s).epsilon(1e-6));
  // moe_act: the SwiGLU over the 512 expert rows (3 x 768 BF16 values each, one kernel)
  auto act = run(qwen, R"(["moe_act"])");
  CHECK(act["expert_compute"] - none["expert_compute"] ==
        Approx(cost.memory_bound_s(512 * 3 * 768 * 2.0) + c.kernel_overhead_s).epsilon(1e-6));
  CHECK(act["attention"] == Approx(none["attention"]).epsilon(1e-12));
  // core_attn: the attention kernel's forward (priced, like attention's projections, without
  // launch overheads)
  const ModelSpec q = *model_presets().find("qwen3-30b-a3b");
  CHECK(run(qwen, R"(["core_attn"])")["attention"] - none["attention"] ==
        Approx(cost.attention_core_s(q.attention_core_flops_per_token(64) * 64, false, q.attention.qk_head_dim(),
                                    q.attention.value_head_dim(), 32.0 / 128, AttentionDtype::BF16))
            .epsilon(1e-6));
  // mla_up_proj: DeepSeek-V3's query (1536 -> 128 x 192) and key-value (512 -> 128 x 256)
  // up-projections, 2 FLOPs per multiply-add over 64 tokens at the projections' rate
  const std::string dsv3 = R"({"preset": "deepseek-v3", "layers": 1, "first_dense_layers": 0, "experts": 16, "mtp_layers": 0, )"
                           R"("compute_dtype": "bf16"})";
  const double up_flops = 2.0 * 64 * (1536.0 * 128 * 192 + 512.0 * 128 * 256);
  CHECK(run(dsv3, R"(["mla_up_proj"])")["attention"] - run(dsv3, "[]")["attention"] ==
        Approx(cost.flops_s(up_flops)).epsilon(1e-6));
}

TEST_CASE("the output layer's loss: 22 bytes per logit forward and 6 backward, memory-bound", "[estimator]") {
  // One Qwen3-30B-A3B layer on one H200, 64 tokens, two vocabularies: the output layer's part
  // (its GEMM forward and twice that backward, at the BF16 training rate) and the fused cross
  // entropy's passes over 64 x vocab logits grow with the vocabulary; nothing else does.
  const auto dense_part = [](int vocab) {
    Scenario s = scenario(scenario_json(R"({"dp": 1, "ep": 1, "micro_batches": 1, "seq_len": 64})",
                                        R"({"policy": "dropless"})", R"({"alpha": 1000, "seed": 0})",
                                        R"({"preset": "qwen3-30b-a3b", "layers": 1, "experts": 16, "vocab": )" +
                                            std::to_string(vocab) + "}",
                                        R"({"preset": "hgx-h200", "nodes": 1, "gpus_per_node": 1, "host_us_per_kernel": 0})"));
    for (const auto& [part, seconds] : simulate(s).breakdown_s)
      if (part == "dense_ffn") return seconds;
    return 0.0;
  };
  const ClusterSpec c = *cluster_presets().find("hgx-h200");
  const CostModel bf16 = CostModel::in_training(c, Dtype::BF16);
  const double small = 32768, large = 131072;
  const double gemms = 3 * (bf16.gemm_s(64, large, 2048) - bf16.gemm_s(64, small, 2048));
  CHECK(dense_part(int(large)) - dense_part(int(small)) ==
        Approx(gemms + bf16.memory_bound_s(64 * (large - small) * (22 + 6))).epsilon(1e-6));
}

TEST_CASE("parts captured in CUDA graphs cost the host one replay per pass", "[estimator]") {
  // The host-bound layer of the test above (1 s per kernel: host_wait counts the launches).
  const auto host_wait = [](const std::string& scope) {
    Scenario s = scenario(scenario_json(R"({"dp": 1, "ep": 1, "micro_batches": 1, "seq_len": 64, "cuda_graph_scope": )" + scope + "}",
                                        R"({"policy": "dropless"})", R"({"alpha": 1000, "seed": 0})",
                                        R"({"preset": "qwen3-30b-a3b", "layers": 1, "experts": 16})",
                                        R"({"preset": "hgx-h200", "nodes": 1, "gpus_per_node": 1, "host_us_per_kernel": 1e6})"));
    const StepResult r = simulate(s);
    for (const auto& [part, seconds] : r.breakdown_s)
      if (part == "host_wait") return std::pair(seconds, r);
    return std::pair(0.0, r);
  };
  const auto [eager, eager_result] = host_wait("[]");
  CHECK(eager == Approx(195.0).margin(0.01));
  // attn: the attention block's 7 kernels forward and 13 backward become one replay each: 18 fewer
  CHECK(host_wait(R"(["attn"])").first == Approx(177.0).margin(0.01));
  // moe_router: the gate GEMM and the 2 router kernels forward (3), twice that backward (6): 7 fewer
  CHECK(host_wait(R"(["moe_router"])").first == Approx(188.0).margin(0.01));
  CHECK(host_wait(R"(["attn", "moe_router"])").first == Approx(170.0).margin(0.01));
  // moe_preprocess is not priced apart; graphs change no GPU time
  const auto [preprocess, preprocess_result] = host_wait(R"(["moe_preprocess"])");
  CHECK(preprocess == Approx(eager).epsilon(1e-12));
  const StepResult graphed = host_wait(R"(["attn", "moe_router"])").second;
  for (const char* part : {"attention", "dense_ffn", "expert_compute"})
    CHECK(test::part(graphed, part) == Approx(test::part(eager_result, part)).epsilon(1e-9));
}

TEST_CASE("whole layers captured in CUDA graphs cost the host one replay per pass and need padded experts",
          "[estimator]") {
  // The host-bound layer above, its experts padded to capacity (static shapes), 1 or 2 layers.
  const auto host_wait = [](const std::string& scope, int layers, const std::string& router) {
    Scenario s = scenario(scenario_json(R"({"dp": 1, "ep": 1, "micro_batches": 1, "seq_len": 64, "cuda_graph_scope": )" + scope + "}",
                                        router, R"({"alpha": 1000, "seed": 0})",
                                        R"({"preset": "qwen3-30b-a3b", "experts": 16, "layers": )" + std::to_string(layers) + "}",
                                        R"({"preset": "hgx-h200", "nodes": 1, "gpus_per_node": 1, "host_us_per_kernel": 1e6})"));
    return test::part(simulate(s), "host_wait");
  };
  const std::string padded = R"({"policy": "topk", "capacity_factor": 1.0, "pad_to_capacity": true})";
  // A second layer adds its kernels' launches eagerly, and 2 s (one 1 s replay forward, one
  // backward, less the layer's few microseconds of GPU work) captured whole.
  const double eager_layer = host_wait("[]", 2, padded) - host_wait("[]", 1, padded);
  CHECK(eager_layer > 100);
  CHECK(host_wait(R"(["layer"])", 2, padded) - host_wait(R"(["layer"])", 1, padded) == Approx(2.0).margin(0.01));
  // Parts captured besides the whole layer change nothing.
  CHECK(host_wait(R"(["attn", "layer"])", 2, padded) == Approx(host_wait(R"(["layer"])", 2, padded)).epsilon(1e-12));
  // Dropless routing changes the experts' shapes with every batch: no whole-layer graph.
  CHECK_THROWS_WITH(host_wait(R"(["layer"])", 1, R"({"policy": "dropless"})"),
                    Catch::Contains("plan.cuda_graph_scope") && Catch::Contains("router.pad_to_capacity"));
}

TEST_CASE("the summary names a host-bound step and what shortens it", "[estimator]") {
  const auto summary = [](const std::string& host_us) {
    const Scenario s = scenario(scenario_json(R"({"dp": 1, "ep": 1, "micro_batches": 1, "seq_len": 64})",
                                              R"({"policy": "dropless"})", R"({"alpha": 1000, "seed": 0})",
                                              R"({"preset": "qwen3-30b-a3b", "layers": 1, "experts": 16})",
                                              R"({"preset": "hgx-h200", "nodes": 1, "gpus_per_node": 1, "host_us_per_kernel": )" +
                                                  host_us + "}"));
    std::ostringstream out;
    print_summary(out, simulate(s), s);
    return out.str();
  };
  // 195 launches of 1 ms against about 6 ms of GPU work: nearly all of the step waits.
  CHECK_THAT(summary("1000"), Catch::Contains("host-bound") && Catch::Contains("% of the step waits for the host"));
  CHECK_THAT(summary("0"), !Catch::Contains("host-bound"));
}

TEST_CASE("the summary's plan line names interleaving and recomputation and CUDA graphs", "[estimator]") {
  const auto plan_line = [](const std::string& plan) {
    const Scenario s = scenario(scenario_json(plan));
    std::ostringstream out;
    print_summary(out, simulate(s), s);
    const std::string text = out.str();
    const size_t at = text.find("plan      ");
    return text.substr(at, text.find('\n', at) - at);
  };
  CHECK(plan_line(R"({"dp": 4, "pp": 2, "ep": 4, "micro_batches": 4, "seq_len": 1024})") ==
        "plan      dp=4 tp=1 pp=2 ep=4 etp=1  micro-batch 1 x 4, seq 1024");
  CHECK(plan_line(R"({"dp": 4, "pp": 2, "vp": 2, "ep": 4, "micro_batches": 4, "seq_len": 1024, "recompute": "selective", )"
                  R"("recompute_modules": ["layernorm", "moe_act"]})") ==
        "plan      dp=4 tp=1 pp=2 vp=2 ep=4 etp=1  micro-batch 1 x 4, seq 1024, recompute selective (layernorm, moe_act)");
  CHECK_THAT(plan_line(R"({"dp": 4, "pp": 2, "ep": 4, "micro_batches": 4, "seq_len": 1024, "recompute": "full", )"
                       R"("recompute_layers": 1, "cuda_graph_scope": ["attn", "moe_router"]})"),
             Catch::EndsWith(", recompute full (the first 1 layers per chunk), graphs (attn, moe_router)"));
}

TEST_CASE("a training step runs GEMMs and attention at the GPU's training_tensor_fraction of the kernel rate",
          "[estimator]") {
  const ClusterSpec c = *cluster_presets().find("dgx-b200");
  REQUIRE(c.gpu.training_tensor_fraction < 1);
  const double f = c.gpu.training_tensor_fraction;
  const CostModel kernel(c, Dtype::BF16), training = CostModel::in_training(c, Dtype::BF16);
  // a compute-bound GEMM: its tile time grows by 1/f, the launch overhead stays
  const double m = 16384, n = 16384, k = 16384;
  CHECK(training.gemm_s(m, n, k) - c.gemm_overhead_s == Approx((kernel.gemm_s(m, n, k) - c.gemm_overhead_s) / f));
  CHECK(training.attention_core_s(1e12, true, 128, 128, 16, AttentionDtype::BF16) ==
        Approx(kernel.attention_core_s(1e12, true, 128, 128, 16, AttentionDtype::BF16) / f));
  // streaming kernels and links keep their rates
  CHECK(training.memory_kernel_s(1e9) == kernel.memory_kernel_s(1e9));
  CHECK(training.ring_allreduce_s(1e8, 8, 1) == kernel.ring_allreduce_s(1e8, 8, 1));
  // a scenario's cluster.training_tensor_fraction overrides the GPU's: 1 runs at the kernel rate
  const Scenario preset = scenario(scenario_json(R"({"dp": 8, "micro_batches": 2, "seq_len": 4096})", R"({"policy": "topk"})",
                                                 "{}", R"({"preset": "llama3-8b"})", R"({"preset": "dgx-b200"})"));
  const Scenario kernel_rate = scenario(scenario_json(R"({"dp": 8, "micro_batches": 2, "seq_len": 4096})", R"({"policy": "topk"})",
                                                      "{}", R"({"preset": "llama3-8b"})",
                                                      R"({"preset": "dgx-b200", "training_tensor_fraction": 1})"));
  CHECK(preset.cluster.gpu.training_tensor_fraction == f);
  CHECK(kernel_rate.cluster.gpu.training_tensor_fraction == 1);
  CHECK(simulate(kernel_rate).step_time_s < simulate(preset).step_time_s);
}

TEST_CASE("a dense model (every layer dense) moves no tokens between GPUs", "[estimator]") {
  const Scenario s = scenario(scenario_json(R"({"dp": 8, "micro_batches": 2, "seq_len": 4096})", R"({"policy": "topk"})",
                                            "{}", R"({"preset": "llama3-8b"})", R"({"preset": "dgx-h100"})"));
  REQUIRE(s.model.moe_layers() == 0);
  CHECK(s.model.shape_summary() == "32 dense layers (no MoE)");
  const StepResult r = simulate(s);
  CHECK(part(r, "dispatch") == 0);
  CHECK(part(r, "combine") == 0);
  CHECK(part(r, "expert_compute") == 0);
  CHECK(part(r, "dense_ffn") > 0);
  CHECK(part(r, "attention") > 0);
  // Llama 3 8B: 8.03 B parameters (Meta's model card), embedding and output layer untied
  CHECK(s.model.total_params() == Approx(8.03e9).epsilon(0.01));
}
