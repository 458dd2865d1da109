// Fully sharded data parallelism (Megatron-FSDP, optim_grads_params): sharded weights,
// gradients and optimizer state, and each layer's weight gathers and gradient reduce-scatters.
#include <catch2/catch.hpp>

#include "models/cost_model.hpp"
#include "models/memory_model.hpp"
#include "sim/simulate.hpp"
#include "tests/helpers.hpp"

using namespace moesim;
using namespace moesim::test;

namespace {

// Llama 3 8B cut to two layers on one DGX H100, data parallel over all 8 GPUs.
Scenario llama(bool fsdp) {
  Scenario s = scenario(scenario_json(R"({"dp": 8, "micro_batches": 2, "seq_len": 4096, "distributed_optimizer": true})",
                                      R"({"policy": "topk"})", "{}", R"({"preset": "llama3-8b", "layers": 2})",
                                      R"({"preset": "dgx-h100", "nodes": 1})"));
  s.plan.fsdp = fsdp;
  return s;
}

}  // namespace

TEST_CASE("FSDP memory: a shard of weights and gradients and the gathered weights of two layers", "[fsdp][memory]") {
  // Per GPU (8 shards): weights 2 B x (P / 8 + 2 L), gradients g x P / 8, optimizer state
  // 12 B x P / 8 (as ZeRO-1), with P the model's parameters and L one layer's.
  const Scenario zero1 = llama(false), fsdp = llama(true);
  const ModelSpec& m = fsdp.model;
  const double params = stage_params_per_gpu(m, fsdp.plan, 0), layer = layer_dense_params_per_gpu(m, fsdp.plan, 0);
  const MemoryBreakdown a = memory_per_gpu(m, zero1.plan, 0), b = memory_per_gpu(m, fsdp.plan, 0);
  CHECK(b.weights_bytes == Approx(2 * (params / 8 + 2 * layer)).epsilon(1e-12));
  CHECK(b.gradients_bytes == Approx(a.gradients_bytes / 8).epsilon(1e-12));
  CHECK(b.optimizer_bytes == Approx(a.optimizer_bytes).epsilon(1e-12));
  CHECK(b.activations_bytes == a.activations_bytes);
}

TEST_CASE("FSDP with nothing to hide them: every piece's weights gathered twice and its gradients scattered once",
          "[fsdp]") {
  // GPU work made free (tensor and HBM rates without limit, no launches): the transfers are
  // all that is left. Per micro-batch, each piece (2 layers and the output layer) has its
  // BF16 weights all-gathered before its forward and again before its backward, and its
  // gradients (FP32) reduce-scattered after its backward, one after another on the DP group's
  // stream: 2 G + R per piece, G and R priced as ring all-reduces of 1 and 2 bytes per
  // parameter (a ring all-gather or reduce-scatter moves what an all-reduce of half the bytes
  // does). The input embedding's gradients and weights sync once at the step's end, as ZeRO-1
  // does: (4 + 2) / 2 bytes per parameter.
  Scenario s = llama(true);
  s.cluster.gpu.peak_bf16_flops = s.cluster.gpu.peak_fp8_flops = s.cluster.gpu.hbm_Bps = 1e30;
  s.cluster.kernel_overhead_s = s.cluster.gemm_overhead_s = s.cluster.host_s_per_kernel = 0;
  const CostModel cost(s.cluster, s.model.compute_dtype);
  const ModelSpec& m = s.model;
  const double embedding = m.embedding_params() / 2;
  const auto ring = [&](double bytes) { return cost.ring_allreduce_s(bytes, 8, 1); };
  double per_micro_batch = 2 * ring(embedding * 1.0) + ring(embedding * 2.0);  // the output layer
  for (int layer = 0; layer < 2; ++layer) {
    const double p = layer_dense_params_per_gpu(m, s.plan, layer);
    per_micro_batch += 2 * ring(p * 1.0) + ring(p * 2.0);
  }
  const StepResult r = simulate(s);
  CHECK(part(r, "grad_sync") == Approx(2 * per_micro_batch + ring(embedding * 3.0)).epsilon(1e-9));
  CHECK(part(r, "grad_sync") > 0);
}

TEST_CASE("FSDP hides its transfers behind the layers and keeps the step's compute", "[fsdp]") {
  const StepResult zero1 = simulate(llama(false)), fsdp = simulate(llama(true));
  CHECK(part(fsdp, "attention") == Approx(part(zero1, "attention")).epsilon(1e-12));
  CHECK(part(fsdp, "dense_ffn") == Approx(part(zero1, "dense_ffn")).epsilon(1e-12));
  // Transfers of 218 M parameters per layer over NVLink take a fraction of a layer's
  // 4096-token forward and backward: what shows is mostly the first gather of each unit and
  // the last reduce-scatter, against ZeRO-1's one sync of every gradient at the step's end.
  CHECK(part(fsdp, "grad_sync") > 0);
  CHECK(fsdp.step_time_s == Approx(zero1.step_time_s).epsilon(0.1));
}

TEST_CASE("FSDP: the discrete-event engine agrees with the analytic one", "[fsdp][des]") {
  Scenario s = scenario(scenario_json(R"({"dp": 8, "ep": 4, "micro_batches": 2, "seq_len": 2048, "fsdp": true})",
                                      R"({"capacity_factor": 1.25})", R"({"alpha": 2.0, "seed": 3})",
                                      R"({"preset": "mixtral-8x7b", "layers": 2})", R"({"preset": "dgx-h100", "nodes": 1})"));
  s.sim.engine = "analytic";
  const double analytic = simulate(s).step_time_s;
  s.sim.engine = "des";
  CHECK(simulate(s).step_time_s == Approx(analytic).epsilon(0.05));
}
