// Context parallelism: a CP rank's share of a sequence, the key/value ring beside attention's
// core, the gradient and optimizer groups over dp x cp, memory, plan checks and plan search.
#include <catch2/catch.hpp>

#include "hardware/topology.hpp"
#include "models/cost_model.hpp"
#include "models/memory_model.hpp"
#include "models/parallel_plan.hpp"
#include "sim/plan_search.hpp"
#include "sim/simulate.hpp"
#include "sim/step_program.hpp"
#include "tests/helpers.hpp"

using namespace moesim;
using namespace moesim::test;

namespace {

// Llama 3 8B cut to two layers on one DGX H100, launches free (no kernel or GEMM overhead,
// no host time) and GEMM tiles not rounded up to whole waves of SMs (one SM), so that the
// same tokens cost the same however they are split.
Scenario llama(const std::string& plan) {
  Scenario s = scenario(scenario_json(plan, R"({"policy": "topk"})", "{}", R"({"preset": "llama3-8b", "layers": 2})",
                                      R"({"preset": "dgx-h100", "nodes": 1})"));
  s.cluster.kernel_overhead_s = s.cluster.gemm_overhead_s = s.cluster.host_s_per_kernel = 0;
  s.cluster.gpu.sms = 1;
  return s;
}

}  // namespace

TEST_CASE("context parallelism: a CP rank computes what a DP rank does on the same tokens and the ring adds cp_comm",
          "[cp]") {
  // 8 GPUs, one step of 8 sequences of 8192 tokens either way. DP 8 gives each GPU one
  // micro-batch of one sequence; DP 4 x CP 2 gives it 2 micro-batches of half a sequence
  // (chunks 0 and 3 or 1 and 2 of 4: the same causal work per token). Every GEMM row, attention
  // key and element costs the same (launches free, GEMM tiles full at 4096 and 8192 rows), and
  // the gradients of dense weights reduce over dp x cp = 8 GPUs both ways.
  const Scenario dp8 = llama(R"({"dp": 8, "micro_batches": 1, "micro_batch_size": 1, "seq_len": 8192})");
  const Scenario cp2 = llama(R"({"dp": 4, "cp": 2, "micro_batches": 2, "micro_batch_size": 1, "seq_len": 8192})");
  REQUIRE(cp2.plan.world() == 8);
  CHECK(cp2.plan.tokens_per_gpu() == 4096);
  CHECK(cp2.plan.tokens_per_step() == dp8.plan.tokens_per_step());
  const StepResult a = simulate(dp8), b = simulate(cp2);
  // per GPU: dp8 runs 8192 tokens, cp2 runs 2 x 4096. The attention kernels do the same FLOPs,
  // but a CP kernel's query tiles each see half the key blocks (16 of 128 keys on average, not
  // 32) over which to spread their fixed time.
  const CostModel cost = CostModel::in_training(dp8.cluster, dp8.model.compute_dtype);
  const double core_flops = dp8.model.attention_core_flops_per_token(8192) * 8192 * dp8.model.layers;
  const auto core_s = [&](double blocks) {
    return cost.attention_core_s(core_flops, false, 128, 128, blocks, AttentionDtype::BF16) +
           cost.attention_core_s(core_flops, true, 128, 128, blocks, AttentionDtype::BF16);
  };
  const double slower_tiles_s = core_s(16) - core_s(32);
  CHECK(part(b, "attention") - part(a, "attention") == Approx(slower_tiles_s).epsilon(1e-6));
  CHECK(part(b, "dense_ffn") == Approx(part(a, "dense_ffn")).epsilon(1e-9));
  CHECK(part(b, "grad_sync") == Approx(part(a, "grad_sync")).epsilon(1e-9));
  CHECK(part(a, "cp_comm") == 0);
  CHECK(b.step_time_s == Approx(a.step_time_s + part(b, "cp_comm") + slower_tiles_s).epsilon(1e-9));
}

TEST_CASE("context parallelism: the ring passes each rank's keys and values cp - 1 times and their gradients too in backward",
          "[cp]") {
  // With attention's core made free, nothing hides the ring: cp_comm is the ring all-gather of
  // the keys and values of every layer and micro-batch, forward (K and V) and backward (K, V
  // and their gradients), priced as a ring all-reduce of half the gathered bytes. Llama 3 8B:
  // 8 KV heads of 128 in BF16, split over TP 2: 4 heads, 2 x 4 x 128 x 2 = 2048 B per token.
  Scenario s = llama(R"({"dp": 1, "tp": 2, "cp": 4, "micro_batches": 2, "micro_batch_size": 1, "seq_len": 8192})");
  s.cluster.gpu.attention_forward_efficiency = s.cluster.gpu.attention_backward_efficiency = 1e12;
  const double chunk_bytes = 8192 / 4 * 2048.0;
  const CostModel cost = CostModel::in_training(s.cluster, s.model.compute_dtype);
  const double ring_s = cost.ring_allreduce_s(chunk_bytes * 4 / 2, 4, 1) + cost.ring_allreduce_s(2 * chunk_bytes * 4 / 2, 4, 1);
  CHECK(part(simulate(s), "cp_comm") == Approx(2 /* layers */ * 2 /* micro-batches */ * ring_s).epsilon(1e-6));

  // The ring's groups: members tp apart (rank order tp, cp, dp), one group per TP rank.
  const Topology topology(s.cluster);
  const StepProgram program = build_step_program(s, route_step(s, topology), ProgramScope::ALL_GPUS);
  int cp_collectives = 0;
  for (const Collective& c : program.collectives) {
    if (c.part != Part::CP_COMM) continue;
    ++cp_collectives;
    const std::vector<int>& members = program.groups[size_t(c.group)];
    REQUIRE(members.size() == 4);
    CHECK(members[1] - members[0] == 2);
    CHECK(members[0] < 2);
    CHECK(c.bytes == Approx((c.backward ? 2 : 1) * chunk_bytes * 4 / 2));
  }
  CHECK(cp_collectives == 2 /* TP ranks */ * 2 /* layers */ * 2 /* micro-batches */ * 2 /* directions */);
}

TEST_CASE("context parallelism: a CP rank keeps 1/cp of the activations and ZeRO-1 shards dense state over dp x cp",
          "[cp][memory]") {
  const Scenario one = llama(R"({"dp": 8, "micro_batches": 1, "micro_batch_size": 1, "seq_len": 8192, "distributed_optimizer": true})");
  const Scenario two = llama(R"({"dp": 4, "cp": 2, "micro_batches": 1, "micro_batch_size": 1, "seq_len": 8192, "distributed_optimizer": true})");
  const MemoryBreakdown a = memory_per_gpu(one.model, one.plan, 0), b = memory_per_gpu(two.model, two.plan, 0);
  CHECK(b.activations_bytes == Approx(a.activations_bytes / 2).epsilon(1e-12));
  CHECK(b.weights_bytes == a.weights_bytes);
  CHECK(b.optimizer_bytes == Approx(a.optimizer_bytes).epsilon(1e-12));  // 8 shards either way
  ParallelPlan dp4 = two.plan;
  dp4.cp = 1;
  // without CP the same dp = 4 keeps twice the state per GPU
  CHECK(memory_per_gpu(two.model, dp4, 0).optimizer_bytes == Approx(2 * b.optimizer_bytes).epsilon(1e-12));
}

TEST_CASE("context parallelism: plans that cannot split their sequences are refused with the reason", "[cp]") {
  const auto problem = [](const Scenario& s) { return plan_problem(s.plan, s.model, s.cluster).sentence; };
  Scenario s = llama(R"({"dp": 4, "cp": 2, "micro_batches": 1, "seq_len": 8192})");
  CHECK(problem(s).empty());
  s.plan.seq_len = 8190;  // not a multiple of 2 cp = 4
  CHECK(problem(s) == "2*cp=4 does not divide seq_len (Megatron splits each sequence into 2*cp chunks)=8190");
  s.plan.seq_len = 8192, s.plan.dp = 2;
  CHECK(problem(s) == "dp*cp*tp*pp=4 but the cluster has 8 GPUs");
  CHECK_THROWS_WITH(scenario(scenario_json(R"({"dp": 4, "cp": 2, "micro_batches": 1})", R"({"policy": "topk"})", "{}",
                                            R"({"preset": "mixer-b16"})")),
                    Catch::Contains("/plan/cp") && Catch::Contains("only attention layers split a sequence"));
}

TEST_CASE("context parallelism: the discrete-event engine agrees with the analytic one", "[cp][des]") {
  Scenario s = scenario(scenario_json(R"({"dp": 4, "cp": 2, "ep": 8, "micro_batches": 2, "seq_len": 4096})",
                                      R"({"capacity_factor": 1.25})", R"({"alpha": 2.0, "seed": 3})",
                                      R"({"preset": "mixtral-8x7b", "layers": 2})", R"({"preset": "dgx-h100", "nodes": 1})"));
  s.cluster.gpu.attention_forward_efficiency = s.cluster.gpu.attention_backward_efficiency = 1e3;  // the ring exposed
  s.sim.engine = "analytic";
  const StepResult analytic = simulate(s);
  CHECK(part(analytic, "cp_comm") > 0);
  s.sim.engine = "des";
  CHECK(simulate(s).step_time_s == Approx(analytic.step_time_s).epsilon(0.05));
}

TEST_CASE("plan search tries context parallelism for long sequences only or up to --max-cp", "[cp][plan]") {
  CHECK(default_max_cp(4096) == 1);
  CHECK(default_max_cp(8192) == 2);
  CHECK(default_max_cp(32768) == 8);
  const Scenario s = llama(R"({"dp": 8, "micro_batches": 4, "micro_batch_size": 1, "seq_len": 8192})");
  const auto max_cp_ranked = [&](int max_cp) {
    PlanSearchOptions options;
    options.max_cp = max_cp;
    int most = 0;
    for (const PlanCandidate& c : search_plans(s, options).ranked) most = std::max(most, c.plan.cp);
    return most;
  };
  CHECK(max_cp_ranked(0) == 2);
  CHECK(max_cp_ranked(1) == 1);
  CHECK(max_cp_ranked(8) == 8);
}

TEST_CASE("TP overlap: a dense block's tensor-parallel collective runs beside the block, exposed only where longer",
          "[estimator][tp]") {
  // Llama 3 8B's two layers at TP 2 (one micro-batch, one stage): each attention and FFN block
  // has one TP collective per direction. With tp_comm_overlap each runs beside its block: on
  // an NVLink so fast that every collective is shorter than its block, none is exposed; on one
  // so slow that every collective outlasts its block, each exposes its time less the block's,
  // so the step shortens by exactly the blocks' time the collectives now cover.
  const auto run = [](double nvlink_GBps, bool overlap) {
    Scenario s = llama(R"({"dp": 4, "tp": 2, "micro_batches": 1, "seq_len": 4096})");
    s.cluster.nvlink_Bps = nvlink_GBps * 1e9;
    s.plan.tp_comm_overlap = overlap;
    return simulate(s);
  };
  const StepResult fast = run(1e6, true), fast_exposed = run(1e6, false);
  CHECK(part(fast, "tp_comm") == 0);
  CHECK(part(fast_exposed, "tp_comm") > 0);
  CHECK(fast.step_time_s == Approx(fast_exposed.step_time_s - part(fast_exposed, "tp_comm")).epsilon(1e-9));
  const StepResult slow = run(0.05, true), slow_exposed = run(0.05, false);
  const double blocks = part(slow, "attention") + part(slow, "dense_ffn") - part(slow_exposed, "attention") -
                        part(slow_exposed, "dense_ffn");
  CHECK(blocks == Approx(0).margin(1e-12));  // the blocks cost the same either way
  const double covered = part(slow_exposed, "tp_comm") - part(slow, "tp_comm");
  CHECK(covered > 0);
  CHECK(slow_exposed.step_time_s - slow.step_time_s == Approx(covered).epsilon(1e-9));
  // a MoE block's gathers stay in the sequence: Mixtral at TP 2 with the overlap exposes its
  // MoE blocks' collectives still
  Scenario moe = scenario(scenario_json(R"({"dp": 4, "tp": 2, "ep": 4, "micro_batches": 1, "seq_len": 1024})",
                                        R"({"policy": "topk"})", "{}", R"({"preset": "mixtral-8x7b", "layers": 2})"));
  moe.cluster.nvlink_Bps = 1e15;
  moe.plan.tp_comm_overlap = true;
  CHECK(part(simulate(moe), "tp_comm") > 0);
}
