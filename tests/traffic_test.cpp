// Traffic conservation and the all-to-all closed form.
#include <catch2/catch.hpp>

#include <numeric>

#include "hardware/topology.hpp"
#include "sim/estimator.hpp"
#include "sim/traffic.hpp"
#include "tests/helpers.hpp"

using namespace moesim;
using namespace moesim::test;

namespace {
double sum(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0); }
}  // namespace

TEST_CASE("bytes sent = bytes received inside and across nodes", "[traffic]") {
  // 4 nodes, EP 16 across two of them, fat tree with two nodes per leaf.
  const Scenario s = scenario(scenario_json(R"({"dp": 32, "ep": 16, "seq_len": 1024})", R"({"capacity_factor": 1.0})",
                                            R"({"alpha": 0.3, "seed": 2})", R"({"preset": "qwen3-30b-a3b"})",
                                            R"({"preset": "dgx-h100", "nodes": 4, "fabric": "fat_tree", "nodes_per_leaf": 1})"));
  const Topology topology(s.cluster);
  const RoutedStep r = route_step(s, topology);
  for (const auto& layer : r.layers)
    for (const auto& mb : layer.micro_batches) {
      CHECK(sum(mb.send_intra) == sum(mb.recv_intra));
      CHECK(sum(mb.send_inter) == sum(mb.recv_inter));
      CHECK(sum(mb.leaf_up) == sum(mb.leaf_down));
      CHECK(sum(mb.send_inter) > 0);
      CHECK(sum(mb.leaf_up) == sum(mb.send_inter));  // one node per leaf: every inter-node copy crosses the spine
    }
}

TEST_CASE("with one expert per rank the copies received equal the expert's accepted tokens", "[traffic]") {
  // Mixtral has 8 experts; EP 8 puts one on each GPU, and a token's choices are distinct experts,
  // so each accepted assignment is exactly one copy (local or remote).
  const Scenario s = scenario(scenario_json(R"({"dp": 8, "ep": 8, "seq_len": 512})", R"({"capacity_factor": 1.1})"));
  const Topology topology(s.cluster);
  const RoutedStep r = route_step(s, topology);
  for (const auto& layer : r.layers)
    for (const auto& mb : layer.micro_batches) {
      const double network = sum(mb.recv_intra) + sum(mb.recv_inter);
      CHECK(network + mb.local_copies == mb.routed);
    }
}

TEST_CASE("per-expert dispatch sends every accepted assignment and per-rank dispatch each token once per rank", "[traffic]") {
  // Qwen3-30B-A3B at EP 8: 16 experts per GPU and top-8, so a token's experts often share a rank.
  Scenario s = scenario(scenario_json(R"({"dp": 8, "ep": 8, "seq_len": 512})", R"({"capacity_factor": 1.0})",
                                      R"({"alpha": 0.5, "seed": 3})", R"({"preset": "qwen3-30b-a3b", "layers": 2})"));
  const Topology topology(s.cluster);
  const RoutedStep per_rank = route_step(s, topology);
  s.plan.dispatch_copies = "per_expert";
  const RoutedStep per_expert = route_step(s, topology);
  for (size_t l = 0; l < per_expert.layers.size(); ++l)
    for (size_t m = 0; m < per_expert.layers[l].micro_batches.size(); ++m) {
      const MicroBatchLoad& e = per_expert.layers[l].micro_batches[m];
      const MicroBatchLoad& r = per_rank.layers[l].micro_batches[m];
      // one copy (local or remote) per accepted assignment, as many as the experts' rows
      CHECK(sum(e.recv_intra) + sum(e.recv_inter) + e.local_copies == e.routed);
      CHECK(sum(e.send_intra) == sum(e.recv_intra));
      // the same routing: the same rows per expert; per rank, fewer copies than assignments
      CHECK(e.expert_tokens == r.expert_tokens);
      CHECK(e.routed == r.routed);
      CHECK(sum(r.recv_intra) + r.local_copies < r.routed);
    }
}

TEST_CASE("per-node dispatch crosses the NIC once per token and node, to the same rail, then forwards over NVLink",
          "[traffic]") {
  // Qwen3-30B-A3B at EP 16 over two 8-GPU nodes: 8 experts a GPU, top-8, so a token often
  // picks several ranks of the other node. DeepEP normal and Hybrid-EP send it over RDMA once
  // per node, to the GPU of the same rail, which hands it on over NVLink.
  Scenario s = scenario(scenario_json(R"({"dp": 16, "ep": 16, "seq_len": 512})", R"({"capacity_factor": null})",
                                      R"({"alpha": 0.5, "seed": 3})", R"({"preset": "qwen3-30b-a3b", "layers": 2})",
                                      R"({"preset": "dgx-h100", "nodes": 2})"));
  const Topology topology(s.cluster);
  const RoutedStep per_rank = route_step(s, topology);
  s.plan.dispatch_copies = "per_node";
  const RoutedStep per_node = route_step(s, topology);
  const int members = 16, per_node_gpus = 8;
  for (size_t l = 0; l < per_node.layers.size(); ++l)
    for (size_t m = 0; m < per_node.layers[l].micro_batches.size(); ++m) {
      const MicroBatchLoad& n = per_node.layers[l].micro_batches[m];
      const MicroBatchLoad& r = per_rank.layers[l].micro_batches[m];
      CHECK(sum(n.send_inter) == sum(n.recv_inter));
      CHECK(sum(n.send_intra) == sum(n.recv_intra));
      CHECK(n.expert_tokens == r.expert_tokens);
      // inside the source's node the same copies as per rank; local ones alike
      CHECK(n.local_copies == r.local_copies);
      for (int src = 0; src < members; ++src) {
        // at most one crossing per token (one other node), never more than per rank
        CHECK(n.send_inter[size_t(src)] <= s.plan.tokens_per_gpu());
        CHECK(n.send_inter[size_t(src)] < r.send_inter[size_t(src)]);
        for (int dst = 0; dst < members; ++dst) {
          const bool other_node = src / per_node_gpus != dst / per_node_gpus;
          const bool same_rail = src % per_node_gpus == dst % per_node_gpus;
          if (other_node && !same_rail) CHECK(n.pair_copies[size_t(src * members + dst)] == 0);
        }
      }
      // every (token, rank) the per-rank dispatch delivers across nodes still arrives: over
      // the NIC at the relay itself, or forwarded over NVLink by it
      CHECK(sum(n.recv_inter) + sum(n.recv_intra) - sum(r.recv_intra) >= sum(r.recv_inter));
    }
}

TEST_CASE("padded to capacity every expert gets capacity rows from every GPU whatever was accepted", "[traffic]") {
  // Qwen3-30B-A3B at EP 8 (16 experts a GPU), 512 tokens a GPU, top-8, capacity factor 1.25:
  // C = ceil(1.25 x 512 x 8 / 128) = 40 rows per expert from each GPU, skewed routing.
  const auto routed = [](const std::string& router) {
    const Scenario s = scenario(scenario_json(R"({"dp": 8, "ep": 8, "seq_len": 512})", router, R"({"alpha": 0.5, "seed": 3})",
                                              R"({"preset": "qwen3-30b-a3b", "layers": 2})"));
    return route_step(s, Topology(s.cluster));
  };
  // without a capacity there is nothing to pad to: the router says so when it is built
  CHECK_THROWS_WITH(routed(R"({"capacity_factor": null, "pad_to_capacity": true})"),
                    Catch::Contains("router.pad_to_capacity needs router.capacity_factor"));
  const RoutedStep dropping = routed(R"({"capacity_factor": 1.25})");
  const RoutedStep padded = routed(R"({"capacity_factor": 1.25, "pad_to_capacity": true})");
  for (size_t l = 0; l < padded.layers.size(); ++l)
    for (size_t m = 0; m < padded.layers[l].micro_batches.size(); ++m) {
      const MicroBatchLoad& p = padded.layers[l].micro_batches[m];
      const MicroBatchLoad& d = dropping.layers[l].micro_batches[m];
      // the same routing and drops; the rows are the capacity's
      CHECK(p.expert_tokens == d.expert_tokens);
      CHECK(p.dropped == d.dropped);
      CHECK(p.dropped > 0);
      for (int rows : p.slot_rows) CHECK(rows == 8 * 40);
      for (double rows : p.rank_rows) CHECK(rows == 16 * 8 * 40);
      // each GPU sends 40 rows to each of the 112 experts on the other 7 GPUs, keeps 16 x 40
      for (double c : p.send_intra) CHECK(c == 7 * 16 * 40);
      CHECK(sum(p.recv_intra) == sum(p.send_intra));
      CHECK(p.local_copies == 8 * 16 * 40);
    }
}

TEST_CASE("uniform all-to-all on one NVSwitch node takes bytes / NVLink bandwidth", "[traffic]") {
  const Scenario s = scenario(scenario_json());
  const Topology topology(s.cluster);
  const EpGroupLayout group = ep_group_layout(s.plan, topology);
  REQUIRE(group.size() == 8);
  // Every GPU sends c copies to each of the 7 others.
  const double c = 1000, bytes_per_copy = 8192;
  MicroBatchLoad load;
  load.send_intra.assign(8, 7 * c);
  load.recv_intra.assign(8, 7 * c);
  load.send_inter.assign(8, 0);
  load.recv_inter.assign(8, 0);
  /* Each GPU's NVLink port sends and receives 7 c B bytes at once (full duplex), so
   * t = 7 c B / NVLink payload rate + nvlink latency = 7 * 1000 * 8192 / (0.822 * 450e9) + 1e-6 s. */
  const double expected = 7 * c * bytes_per_copy / (0.822 * 450e9) + 1e-6;
  CHECK(all_to_all_s(load, group, topology, bytes_per_copy, false) == Approx(expected).epsilon(1e-12));
  CHECK(all_to_all_s(load, group, topology, bytes_per_copy, true) == Approx(expected).epsilon(1e-12));
}

TEST_CASE("uniform routing end to end: dispatch equals the port closed form", "[traffic]") {
  // alpha and noise large make every expert equally likely; with capacity 4x nothing drops.
  const Scenario s = scenario(scenario_json(R"({"dp": 8, "ep": 8, "micro_batches": 1, "seq_len": 2048})",
                                            R"({"capacity_factor": null})", R"({"alpha": 1e6, "noise": 1e3, "seed": 1})"));
  const Topology topology(s.cluster);
  const RoutedStep r = route_step(s, topology);
  const MicroBatchLoad& mb = r.layers[0].micro_batches[0];
  const double busiest = std::max(*std::max_element(mb.send_intra.begin(), mb.send_intra.end()),
                                  *std::max_element(mb.recv_intra.begin(), mb.recv_intra.end()));
  /* Top-2 of 8 uniform experts: a token lands on 2 distinct GPUs, remote with probability 7/8 each:
   * about 2 x 7/8 x 2048 = 3584 copies per GPU; the time is busiest port bytes / payload rate. */
  CHECK(busiest == Approx(3584).epsilon(0.05));
  const double b = s.model.dispatch_bytes_per_token();
  CHECK(all_to_all_s(mb, r.group, topology, b, false) ==
        Approx(busiest * b / s.cluster.nvlink_payload_Bps() + 1e-6).epsilon(1e-12));
}
