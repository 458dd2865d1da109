// All-MLP vision models: MLP-Mixer's token-mixing MLP in place of attention, and Sparse-MLP's
// MoE layers along both axes (token-mixing experts over channel vectors, channel-mixing
// experts over patches).
#include <catch2/catch.hpp>

#include "hardware/topology.hpp"
#include "sim/simulate.hpp"
#include "sim/traffic.hpp"
#include "tests/helpers.hpp"

using namespace moesim;
using namespace moesim::test;

namespace {
Scenario study(const std::string& model, int ep, const std::string& capacity) {
  return scenario(scenario_json(R"({"dp": 8, "ep": )" + std::to_string(ep) + R"(, "micro_batch_size": 4, "micro_batches": 2})",
                                R"({"policy": "topk", "capacity_factor": )" + capacity + "}", R"({"alpha": 1.0, "seed": 5})",
                                R"({"preset": ")" + model + R"("})"));
}
}  // namespace

TEST_CASE("Sparse-MLP routes C/2 channel vectors per image in token-mixing MoE layers, patches in the others",
          "[all_mlp]") {
  const Scenario s = study("sparse-mlp-b16", 8, "1.25");
  const Topology topology(s.cluster);
  const RoutedStep routed = route_step(s, topology);
  // Layers 8..15 are MoE: 8, 10, 12, 14 mix tokens, 9, 11, 13, 15 mix channels.
  REQUIRE(routed.layers.size() == 8);
  for (const LayerLoad& layer : routed.layers) {
    INFO("layer " << layer.layer);
    CHECK(s.model.is_token_moe_layer(layer.layer) == (layer.layer % 2 == 0));
    // Per micro-batch of the EP group: 8 GPUs x 4 images, each 384 channel vectors (C = 768
    // halved by the re-represent layer) or 196 patches; top-1, so items = assignments.
    const double items = 8 * 4 * (s.model.is_token_moe_layer(layer.layer) ? 384.0 : 196.0);
    for (const MicroBatchLoad& mb : layer.micro_batches) CHECK(mb.routed + mb.dropped == items);
  }
}

TEST_CASE("MLP-Mixer and Sparse-MLP model FLOPs follow their layer shapes", "[all_mlp]") {
  // Forward FLOPs per patch, C = 768, S = 196, D_S = 384, D_C = 3072, 1000 classes:
  //   output layer 2 C 1000; a Mixer block: token MLP 4 C D_S (2 matrices of S x D_S per
  //   channel, over S patches) + channel MLP 2 (2 C D_C) + its one-expert router 2 C.
  //   A token-mixing MoE layer: (C/2) / S items per patch, each 2 (2 S D_S) + router 2 S 16,
  //   and the re-represent layers 2 (2 C C/2). A channel-mixing MoE layer: 2 (2 C D_C) + 2 C 16.
  const double C = 768, S = 196, DS = 384, DC = 3072;
  const double output = 2 * C * 1000;
  const double mixer_block = 4 * C * DS + 2 * (2 * C * DC) + 2 * C;
  const double token_moe = (C / 2) / S * (2 * (2 * S * DS) + 2 * S * 16) + 2 * (2 * C * (C / 2));
  const double channel_moe = 2 * (2 * C * DC) + 2 * C * 16;
  const auto forward_flops_per_patch = [](const Scenario& s) {
    const StepResult r = simulate(s);
    return r.model_flops_per_step / 3 / s.plan.tokens_per_step();
  };
  const double mixer_block_dense = 4 * C * DS + 2 * (2 * C * DC);  // Sparse-MLP's leading blocks: no router
  CHECK(forward_flops_per_patch(study("mixer-b16", 1, "null")) == Approx(output + 12 * mixer_block).epsilon(1e-12));
  CHECK(forward_flops_per_patch(study("sparse-mlp-b16", 8, "1.25")) ==
        Approx(output + 8 * mixer_block_dense + 4 * (token_moe + channel_moe)).epsilon(1e-12));
}

TEST_CASE("all-MLP models run at their own patch count", "[all_mlp]") {
  CHECK_THROWS_WITH(scenario(scenario_json(R"({"dp": 8, "ep": 8, "seq_len": 256})", "{}", "{}",
                                           R"({"preset": "sparse-mlp-b16"})")),
                    Catch::Contains("seq_len") && Catch::Contains("196 patches"));
}
