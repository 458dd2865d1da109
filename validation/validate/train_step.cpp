// Training-step throughput: the point's model, cluster and plan as a scenario, run by the
// analytic engine.
#include <cmath>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "hardware/input_error.hpp"
#include "models/model.hpp"
#include "sim/result_json.hpp"
#include "sim/simulate.hpp"
#include "validation/validate/megatron_bridge_recipes.hpp"
#include "validation/validate/megatron_flops.hpp"
#include "validation/validate/predict.hpp"

namespace moesim::validation {

namespace {

const char* model_preset_of(const std::string& model) {
  if (model == "DeepSeekV3") return "deepseek-v3";
  if (model == "Qwen3-30B-A3B") return "qwen3-30b-a3b";
  if (model == "Mixtral-8x7B") return "mixtral-8x7b";
  if (model == "Qwen3-235B-A22B") return "qwen3-235b-a22b";
  if (model == "GPT-OSS-120B") return "gpt-oss-120b";
  if (model == "LLAMA3_8B") return "llama3-8b";
  if (model == "LLAMA3_70B") return "llama3-70b";
  if (model == "LLAMA3.1_405B") return "llama3.1-405b";
  return nullptr;
}

// Force-balanced runs route near-uniformly; a trained router's runs route as the measured
// counts of that model do (Mixtral's are embedded; other models have none).
nlohmann::json scores_of(const std::string& routing, const std::string& model) {
  if (routing != "force_balanced" && model == "mixtral-8x7b")
    return {{"source", "measured"}, {"fit", model}, {"seed", 0}};
  return {{"source", "dirichlet"}, {"alpha", 1e6}, {"seed", 0}};
}

int plan_value(const PointParams& q, const char* key) { return q.has(key) ? q.whole(key, 1, 1 << 20) : 1; }

bool megatron_bridge(const std::string& framework) { return framework.find("Megatron-Bridge") != std::string::npos; }

// NVIDIA's Megatron-Bridge performance recipes hold and reduce gradients in BF16
// (cfg.ddp.grad_reduce_in_fp32 = False in every model's scripts/performance config, e.g.
// configs/deepseek/deepseek_llm_pretrain.py, configs/qwen/qwen3_llm_pretrain.py,
// configs/gpt_oss/gpt_oss_llm_pretrain.py); Megatron-LM itself accumulates BF16 training's
// gradients in FP32 (its arguments turn --accumulate-allreduce-grads-in-fp32 on for --bf16).
const char* gradient_dtype_of(const std::string& framework) {
  return megatron_bridge(framework) ? "bf16" : "fp32";
}

// Megatron-Bridge's DeepSeek-V3 recipes (src/megatron/bridge/recipes/deepseek/deepseek_v3.py
// @ aea4832b5): one multi-token-prediction layer unless the point states otherwise
// (mtp_num_layers = 1), and pipeline layouts that give the first virtual stage the embedding and
// the last the MTP layers and the loss (set_deepseek_v3_pipeline_model_parallel_layout), in
// decoder layers per virtual stage; the H100 run's own layout "Et|(tt|)*30mL"
// (scripts/performance/configs/deepseek/deepseek_llm_pretrain.py). Other (pp, vp) split evenly.
int megatron_bridge_mtp_layers(const PointParams& q, const std::string& model) {
  if (q.has("architecture") && q.object("architecture").has("mtp_layers"))
    return q.object("architecture").whole("mtp_layers", 0, 16);
  return model == "deepseek-v3" ? 1 : 0;
}
std::vector<int> deepseek_v3_layout(int pp, int vp) {
  const auto repeat = [](std::vector<int> head, int n, int each, std::vector<int> tail) {
    head.insert(head.end(), size_t(n), each);
    head.insert(head.end(), tail.begin(), tail.end());
    return head;
  };
  if (pp == 4 && vp == 1) return {16, 16, 16, 13};
  if ((pp == 8 && vp == 1) || (pp == 4 && vp == 2)) return repeat({8}, 6, 8, {5});
  if ((pp == 16 && vp == 1) || (pp == 8 && vp == 2) || (pp == 4 && vp == 4)) return repeat({4}, 14, 4, {1});
  if (pp == 8 && vp == 4) return repeat({1}, 30, 2, {0});
  return {};
}

// Megatron-Bridge's Qwen3-235B-A22B and Llama 3.1 405B recipes count the embedding and the loss
// as one layer each when they cut the pipeline (account_for_embedding_in_pipeline_split and
// account_for_loss_in_pipeline_split, qwen3_235b_a22b_pretrain_config in
// src/megatron/bridge/recipes/qwen/qwen3_moe.py @ aea4832b5, llama31_405b_pretrain_config in
// src/megatron/bridge/recipes/llama/llama3.py from v0.2.0 on, which the performance scripts
// build on): the first and the last virtual stage hold one layer fewer (Megatron requires the
// count to divide; otherwise an even split).
std::vector<int> embedding_and_loss_layout(int layers, int stages) {
  if (stages < 2 || (layers + 2) % stages != 0) return {};
  std::vector<int> layout(static_cast<size_t>(stages), (layers + 2) / stages);
  --layout.front(), --layout.back();
  return layout;
}

// A Megatron-Bridge row as its release's recipe ran it (megatron_bridge_recipes.cpp): its
// CUDA graphs, all-to-all overlap, its dispatcher's SMs and copies, shared-expert overlap and
// selectively recomputed modules. Returns what it set, for the prediction's note.
std::string apply_recipe(const BridgeRecipe& r, nlohmann::json& s, const Scenario& without, const std::string& precision) {
  std::string note = "recipe " + r.config;
  if (r.graphs == BridgeRecipe::Graphs::STEP) {
    s["cluster"]["host_us_per_kernel"] = 0;
    note += ": whole step in a CUDA graph";
  } else if (r.graphs == BridgeRecipe::Graphs::PARTS) {
    s["plan"]["cuda_graph_scope"] = r.graph_scopes;
    note += ": CUDA graphs of " + joined(r.graph_scopes);
  }
  s["plan"]["ep_comm_sms"] = r.dispatcher_sms();
  s["plan"]["dispatch_copies"] = r.dispatch_copies();
  if (r.a2a_overlap) {
    ParallelPlan p = without.plan;
    p.overlap_ep_comm = true;
    if (const PlanProblem problem = ep_overlap_problem(p)) {
      note += "; all-to-all overlap left off (" + problem.sentence + ")";
    } else {
      s["plan"]["overlap_ep_comm"] = true;
      note += "; all-to-alls overlapped (combined 1F1B)";
    }
  }
  if (r.shared_expert_overlap) s["plan"]["overlap_shared_experts"] = true;
  if (r.fused_expert_mlp) {
    s["plan"]["expert_gemms"] = "grouped";
    if (without.model.expert_bias != "none") s["model"]["expert_bias"] = "fused";
    if (without.model.glu_clamp != "none") s["model"]["glu_clamp"] = "fused";
    note += "; experts' MLP fused";
  }
  if (!r.recompute_modules.empty()) s["plan"]["recompute"] = "selective", s["plan"]["recompute_modules"] = r.recompute_modules;
  // Transformer Engine's FP8 attention quantizes as the recipe does: MXFP8 blocks under an
  // MXFP8 recipe, per-tensor scales otherwise.
  if (r.fp8_attention && without.model.compute_dtype == Dtype::FP8) {
    const bool mx = precision.find("MX") != std::string::npos;
    s["model"]["attention_dtype"] = mx ? "mxfp8" : "fp8";
    note += std::string("; attention in ") + (mx ? "MXFP8" : "FP8");
  }
  return note;
}

// Megatron-LM's own training loop as of 2026 (examples/moe_recipes): its FLOP count is the one
// Megatron-Bridge copies (megatron/training/training.py, num_floating_point_operations @
// 9c5258f1: causal halving, MLA, MTP, the padded vocabulary; it pads to
// make_vocab_size_divisible_by x tp, which for these models' vocabularies is the vocabulary).
bool megatron_lm(const std::string& framework) { return framework.find("Megatron-LM") != std::string::npos; }

// The model FLOPs per token that the point's framework reports: Megatron-Bridge's and today's
// Megatron-LM's formula (with the run's MTP layers), or Megatron-LM's 2024 one for the
// Megatron-Core runs; moesim's own count (3 x forward, causal attention halved) where none applies.
double publisher_flops_per_token(const PointParams& q, const Scenario& s, double moesim_flops_per_token) {
  const ModelSpec& m = s.model;
  if (megatron_bridge(q.text("framework")) || megatron_lm(q.text("framework")))
    return megatron_bridge_flops_per_token(m, s.plan.seq_len, s.model.mtp_layers, s.plan.tp);
  if (q.text("framework").find("Megatron-Core") != std::string::npos)
    if (const auto flops = megatron_core_2024_flops_per_token(m, s.plan.seq_len)) return *flops;
  return moesim_flops_per_token;
}

}  // namespace

Prediction predict_train_step(const ValidationPoint& p, const PredictContext& ctx) {
  const PointParams& q = p.params;
  if (!q.has("gpus") || !q.has("tp")) return unsupported("the parallel plan is not stated");
  const char* model = model_preset_of(q.text("model"));
  if (!model) return unsupported("no model preset for " + q.text("model"));
  std::string reason;
  const auto cluster = point_cluster(p, ctx, reason);
  if (!cluster) return unsupported(reason);
  const int gpus = q.whole("gpus", 1, 1 << 20), dp = plan_value(q, "dp"), mbs = plan_value(q, "micro_batch");
  const int global_batch = q.whole("global_batch", 1, 1 << 30);
  if (global_batch % (dp * mbs)) return unsupported("global_batch is not a multiple of dp x micro_batch");
  if (q.has("offload"))
    return unsupported("offloading (" + joined(q.texts("offload")) + ") to host memory is not modeled");

  nlohmann::json s = {
      {"name", p.id},
      // the point's cluster (its preset with the point's and a profile's figures), every field
      {"cluster", cluster_to_json(*cluster)},
      {"model", {{"preset", model}}},
      {"plan",
       {{"dp", dp}, {"tp", plan_value(q, "tp")}, {"cp", plan_value(q, "cp")}, {"pp", plan_value(q, "pp")}, {"vp", plan_value(q, "vp")}, {"ep", plan_value(q, "ep")},
        {"etp", plan_value(q, "etp")}, {"micro_batch_size", mbs}, {"micro_batches", global_batch / (dp * mbs)},
        {"seq_len", q.whole("seq_len", 1, 1 << 24)},
        // Megatron-Core's MoE recipes run with --use-distributed-optimizer, --overlap-grad-reduce
        // and --overlap-param-gather
        {"distributed_optimizer", true}, {"overlap_grad_reduce", q.flag("overlap_grad_reduce", true)},
        // Megatron-Bridge's FSDP column: Megatron-FSDP with optim_grads_params
        {"fsdp", q.has("fsdp") && q.whole("fsdp", 0, 1 << 20) > 0},
        {"gradient_dtype", gradient_dtype_of(q.text("framework"))}}},
      // dropless: no capacity limit
      {"router", {{"policy", "topk"}, {"capacity_factor", nullptr}}},
      {"scores", scores_of(q.text("routing"), model)},
      {"sim", {{"engine", "analytic"}, {"routed_micro_batches", 1}}},
  };
  // Megatron-Bridge's token-drop runs drop and pad to capacity 1.0 (apply_moe_token_drop in
  // src/megatron/bridge/training/utils/moe_token_drop.py: moe_expert_capacity_factor 1.0,
  // moe_pad_expert_input_to_capacity True), every expert computing its capacity's rows.
  if (q.text("drop_policy") == "token_drop" && megatron_bridge(q.text("framework")))
    s["router"] = {{"policy", "topk"}, {"capacity_factor", 1.0}, {"pad_to_capacity", true}};
  const std::string precision = q.text("precision");
  s["model"]["compute_dtype"] = compute_dtype_of(precision) == Dtype::FP8 ? "fp8" : "bf16";
  // Megatron-Core's dispatchers move BF16 tokens whatever the GEMMs' precision: the alltoall
  // dispatcher sends the permuted hidden states, and its DeepEP and Hybrid-EP paths pass
  // fp8_dispatch = False ("Currently, we do not support fp8 dispatch",
  // megatron/core/transformer/moe/fused_a2a.py). DeepSeek-V3's preset dispatches FP8 as
  // DeepSeek's own system does; the Megatron runs of it do not.
  s["model"]["dispatch_dtype"] = "bf16";
  // Megatron-Bridge's performance runs turn NVLink SHARP off ("NCCL_NVLS_ENABLE": "0", "Disable
  // NVLink SHARP to save memory": scripts/performance/utils/executors.py @ aea4832b5).
  if (megatron_bridge(q.text("framework"))) {
    s["cluster"]["nccl_nvls"] = false;
    s["model"]["mtp_layers"] = megatron_bridge_mtp_layers(q, model);
    const int pp = plan_value(q, "pp"), vp = plan_value(q, "vp");
    std::vector<int> layout;
    if (std::string(model) == "deepseek-v3") layout = deepseek_v3_layout(pp, vp);
    if (std::string(model) == "qwen3-235b-a22b" || std::string(model) == "llama3.1-405b")
      layout = embedding_and_loss_layout(model_presets().find(model)->layers, pp * vp);
    if (!layout.empty()) s["plan"]["pipeline_layout"] = layout;
    // Its Llama 3 and 3.1 performance recipes overlap the tensor-parallel all-gathers and
    // reduce-scatters with the GEMMs (comm_overlap.tp_comm_overlap with a Transformer Engine
    // userbuffers configuration per GPU and shape, off for NVFP4:
    // scripts/performance/configs/llama/llama3_llm_pretrain.py and llama31_llm_pretrain.py,
    // v0.2.0 on). Its MoE recipes with TP > 1 in these tables do not (H100 Qwen3-235B-A22B:
    // tp_comm_overlap=False) or do not say (25.09).
    if (std::string(model).rfind("llama", 0) == 0 && plan_value(q, "tp") > 1 && precision.find("NVFP4") == std::string::npos)
      s["plan"]["tp_comm_overlap"] = true;
  }
  // Megatron-Bridge and today's Megatron-LM run their experts through Transformer Engine's
  // GroupedLinear (moe_grouped_gemm with transformer_impl transformer_engine: a cuBLAS GEMM per
  // local expert) unless a recipe fuses the experts' MLP (apply_recipe); Megatron-Core's 2024
  // runs used the grouped_gemm package's CUTLASS grouped kernel (moesim's default).
  if (megatron_bridge(q.text("framework")) || megatron_lm(q.text("framework"))) s["plan"]["expert_gemms"] = "per_expert";
  // What a run states about itself wins over the framework's defaults above.
  if (q.has("architecture") && q.object("architecture").has("mtp_layers"))
    s["model"]["mtp_layers"] = q.object("architecture").whole("mtp_layers", 0, 16);
  if (q.has("nccl_nvls")) s["cluster"]["nccl_nvls"] = q.flag("nccl_nvls", false);
  if (q.has("pipeline_layout")) s["plan"]["pipeline_layout"] = q.wholes("pipeline_layout", 0, 1 << 16);
  if (gpus % cluster->gpus_per_node) return unsupported("gpus is not a multiple of gpus_per_node");
  s["cluster"]["nodes"] = gpus / cluster->gpus_per_node;
  // A stated plan that moesim rejects (Megatron would too: the plan's own numbers disagree)
  // is a point it cannot simulate, not a reason to stop the whole dataset.
  std::optional<Scenario> parsed;
  try {
    parsed = parse_scenario(s.dump(), p.id);
  } catch (const InputError& e) {
    return unsupported(std::string("the stated plan is not one moesim can run: ") + e.what());
  }
  std::string recipe_note;
  // the row's own settings where it states them, else a Megatron-Bridge row's release recipe
  const auto recipe = q.has("recipe") ? std::optional(stated_recipe(q.object("recipe"), model))
                      : megatron_bridge(q.text("framework"))
                          ? megatron_bridge_recipe(q.text("framework"), model, cluster->gpu.name, precision, global_batch)
                          : std::nullopt;
  if (recipe) {
    recipe_note = "; " + apply_recipe(*recipe, s, *parsed, precision);
    try {
      parsed = parse_scenario(s.dump(), p.id);
    } catch (const InputError& e) {
      return unsupported("the recipe does not run on the stated plan: " + std::string(e.what()));
    }
  }
  const Scenario& scenario = *parsed;
  const StepResult r = simulate_step(scenario).result;
  // tokens/s per GPU, or model TFLOP/s per GPU counted as the publisher counts them.
  const bool tflops = p.metric.name == "tflops_per_gpu";
  const double tokens = scenario.plan.tokens_per_step();
  const double work = (tflops ? publisher_flops_per_token(q, scenario, r.model_flops_per_step / tokens) * tokens : tokens) / gpus;
  // The published run ran: a plan moesim's memory model says does not fit is a memory-model
  // miss worth seeing beside the time.
  const std::string memory = std::to_string(int(std::lround(r.memory.total_bytes() / (1 << 30)))) + " of " +
                             std::to_string(int(std::lround(r.hbm_bytes / (1 << 30)))) + " GiB" +
                             (r.fits_memory ? "" : ", does NOT fit in moesim's memory model");
  Prediction prediction = in_metric(
      p, r.step_time_s, work,
      std::string("analytic engine, 1F1B (interleaved when vp > 1), gradient reduce ") +
          (scenario.plan.overlap_grad_reduce ? "overlapped" : "after the last backward") + "; memory " + memory + recipe_note);
  prediction.scenario_json = s.dump(2);
  prediction.fits_memory = r.fits_memory;
  return prediction;
}

}  // namespace moesim::validation
