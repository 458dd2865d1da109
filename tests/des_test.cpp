// The discrete-event engine: agreement with the analytic path where nothing contends,
// contention where the fabric is oversubscribed, grouped versus per-pair transfers,
// SimGrid routes versus the Boost.Graph topology, determinism.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <iostream>
#include <map>

#include "hardware/topology.hpp"
#include "models/cost_model.hpp"
#include "sim/des/collectives.hpp"
#include "sim/des/platform.hpp"
#include "sim/result_json.hpp"
#include "sim/simulate.hpp"
#include "tests/helpers.hpp"

using namespace moesim;
using namespace moesim::test;

namespace {

StepResult run(Scenario s, const std::string& engine, const std::string& transfers = "grouped",
               const std::string& algorithm = "flat") {
  s.sim.engine = engine;
  s.sim.transfers = transfers;
  s.sim.all_to_all = algorithm;
  return simulate(s);
}

// 64 GPUs on 8 nodes, one EP group spanning all of them, one micro-batch: the step is
// dominated by one inter-node-heavy all-to-all per MoE layer and direction.
Scenario wide_all_to_all(const std::string& cluster, const std::string& scores, int layers = 4) {
  return scenario(scenario_json(R"({"dp": 64, "ep": 64, "micro_batches": 1, "seq_len": 1024})",
                                R"({"capacity_factor": null})", scores,
                                R"({"preset": "olmoe-1b-7b", "layers": )" + std::to_string(layers) + "}", cluster));
}

// Runs `check` in a child process (SimGrid allows one platform per process); returns its
// exit code.
template <class Check>
int in_child(Check check) {
  std::cout.flush();
  const pid_t pid = fork();
  if (pid == 0) _exit(check());
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

TEST_CASE("des equals the analytic estimate where nothing contends", "[des]") {
  // One EP group per node; pipeline messages cross nodes but never share a link.
  for (const Scenario& s :
       {default_scenario(), scenario(scenario_json(R"({"dp": 8, "ep": 8, "micro_batches": 4, "seq_len": 2048})",
                                                   R"({"capacity_factor": 1.25})", R"({"alpha": 0.3, "seed": 5})"))}) {
    const StepResult analytic = run(s, "analytic"), des = run(s, "des");
    INFO(s.name);
    CHECK(des.step_time_s == Approx(analytic.step_time_s).epsilon(0.02));
    for (const auto& [name, seconds] : analytic.breakdown_s) {
      INFO(name);
      CHECK(std::abs(part(des, name) - seconds) <= 0.02 * analytic.step_time_s);
    }
    CHECK(des.critical_gpu == analytic.critical_gpu);
  }
}

TEST_CASE("des runs gradient syncs on a communication stream beside the backward", "[des]") {
  // Two nodes, one stage, DP over both: with overlap the step waits only for the syncs that
  // the backward could not hide. The stream shares the NICs with the expert all-to-alls in
  // the discrete-event engine, so it hides less than the analytic engine says, never more.
  Scenario s = scenario(scenario_json(R"({"dp": 16, "ep": 8, "micro_batches": 4, "seq_len": 2048})",
                                      R"({"capacity_factor": null})", R"({"alpha": 1e6, "noise": 1e3})",
                                      R"({"preset": "olmoe-1b-7b"})", R"({"preset": "dgx-h100", "nodes": 2})"));
  const StepResult blocking = run(s, "des");
  s.plan.overlap_grad_reduce = true;
  const StepResult des = run(s, "des"), analytic = run(s, "analytic");
  CHECK(part(des, "grad_sync") < part(blocking, "grad_sync"));
  CHECK(des.step_time_s < blocking.step_time_s);
  CHECK(des.step_time_s >= analytic.step_time_s * (1 - 1e-9));
}

TEST_CASE("des: the first forward waits for the distributed optimizer's weight all-gathers", "[des]") {
  // Four MoE layers, DP 16 over two nodes, a slow NIC: the layers' all-gathers queue on the
  // stream from the step's start and the first micro-batch's forward waits for each layer's.
  // The dense (DP) and expert (EDP) gathers run at once: the analytic engine gives each its
  // own link, the DES makes them share the NICs, so it exposes more, within a fifth.
  Scenario s = scenario(scenario_json(
      R"({"dp": 16, "ep": 8, "micro_batches": 2, "seq_len": 2048, "distributed_optimizer": true,
          "overlap_grad_reduce": true, "gradient_dtype": "bf16"})",
      R"({"capacity_factor": null})", R"({"alpha": 1e6, "noise": 1e3})", R"({"preset": "olmoe-1b-7b", "layers": 4})",
      R"({"preset": "dgx-h100", "nodes": 2, "nic_GBps": 5})"));
  const StepResult des = run(s, "des"), analytic = run(s, "analytic");
  CHECK(part(analytic, "grad_sync") > 0.3 * analytic.step_time_s);
  CHECK(part(des, "grad_sync") >= part(analytic, "grad_sync"));
  CHECK(part(des, "grad_sync") <= 1.2 * part(analytic, "grad_sync"));
  CHECK(des.step_time_s == Approx(analytic.step_time_s).epsilon(0.1));
}

TEST_CASE("des runs shared experts beside the all-to-alls, hiding what the analytic engine hides", "[des]") {
  // Near-uniform routing, EP 8 over two nodes, OLMoE with two shared experts: the all-to-alls
  // go to the communication stream while the shared experts compute. Nothing else shares the
  // links then, so both engines hide about as much (5 % of the step).
  Scenario s = scenario(scenario_json(R"({"dp": 16, "ep": 8, "micro_batches": 2, "seq_len": 2048})",
                                      R"({"capacity_factor": null})", R"({"alpha": 1e6, "noise": 1e3})",
                                      R"({"preset": "olmoe-1b-7b", "shared_experts": 2})",
                                      R"({"preset": "dgx-h100", "nodes": 2})"));
  const StepResult blocking = run(s, "des");
  s.plan.overlap_shared_experts = true;
  const StepResult des = run(s, "des"), analytic = run(s, "analytic");
  const auto a2a_s = [](const StepResult& r) { return part(r, "dispatch") + part(r, "combine"); };
  CHECK(a2a_s(des) < a2a_s(blocking));
  CHECK(des.step_time_s < blocking.step_time_s);
  CHECK(des.step_time_s == Approx(analytic.step_time_s).epsilon(0.05));
  CHECK(des.stragglers.size() == analytic.stragglers.size());
}

TEST_CASE("des: a 4 to 1 oversubscribed fat tree makes an inter-node all-to-all 3x slower", "[des]") {
  const auto fat_tree = [](double oversubscription) {
    return R"({"preset": "dgx-h100", "nodes": 8, "fabric": "fat_tree", "nodes_per_leaf": 1, "oversubscription": )" +
           std::to_string(oversubscription) + "}";
  };
  const auto a2a_s = [](const StepResult& r) { return part(r, "dispatch") + part(r, "combine"); };
  const std::string uniform = R"({"alpha": 1e6, "noise": 1e3, "seed": 1})";
  const StepResult full = run(wide_all_to_all(fat_tree(1), uniform), "des");
  const StepResult thin = run(wide_all_to_all(fat_tree(4), uniform), "des");
  INFO("1:1 " << a2a_s(full) << " s, 4:1 " << a2a_s(thin) << " s");
  CHECK(a2a_s(thin) >= 3 * a2a_s(full));
  // The spine uplinks are where it shows.
  double uplink_peak = 0;
  for (const LinkUsage& l : thin.links)
    if (l.name.find("spine") != std::string::npos) uplink_peak = std::max(uplink_peak, l.peak_utilization);
  CHECK(uplink_peak > 0.95);
}

TEST_CASE("des: grouped transfers agree with one flow per GPU pair within 5 percent on 64 GPUs", "[des]") {
  // One MoE layer: per pair, its four all-to-alls are 16k flows that max-min re-shares at
  // every completion (the cost the grouped mode exists to avoid).
  const Scenario s = wide_all_to_all(R"({"preset": "dgx-h100", "nodes": 8})", R"({"alpha": 1.0, "seed": 7})", 1);
  for (const std::string algorithm : {"flat", "hierarchical"}) {
    INFO(algorithm);
    const StepResult grouped = run(s, "des", "grouped", algorithm);
    const StepResult per_pair = run(s, "des", "per_pair", algorithm);
    CHECK(grouped.step_time_s == Approx(per_pair.step_time_s).epsilon(0.05));
    for (const char* name : {"dispatch", "combine"}) {
      INFO(name);
      CHECK(part(grouped, name) == Approx(part(per_pair, name)).epsilon(0.05));
    }
  }
}

TEST_CASE("des: SimGrid routes agree with the Boost.Graph topology in hops and latency", "[des]") {
  for (const char* cluster : {R"({"preset": "dgx-h100", "nodes": 8, "nodes_per_leaf": 2})",
                              R"({"preset": "dgx-h100", "nodes": 8, "fabric": "fat_tree", "nodes_per_leaf": 2,
                                  "oversubscription": 2})"}) {
    INFO(cluster);
    const Scenario s = scenario(scenario_json(R"({"dp": 64, "ep": 8})", "{}", "{}", R"({"preset": "mixtral-8x7b"})", cluster));
    const Topology topology(s.cluster);
    const int mismatches = in_child([&] {
      const Platform platform(topology);
      int bad = 0;
      for (int src = 0; src < topology.gpus(); ++src)
        for (int dst = 0; dst < topology.gpus(); ++dst) {
          double latency = 0;
          const size_t links = platform.route(src, dst, &latency).size();
          if (int(links) != topology.hops(src, dst) || std::abs(latency - topology.route_latency_s(src, dst)) > 1e-12) {
            if (bad < 5)
              std::cerr << src << " -> " << dst << ": SimGrid " << links << " links, graph " << topology.hops(src, dst)
                        << " hops\n";
            ++bad;
          }
        }
      return std::min(bad, 100);
    });
    CHECK(mismatches == 0);
  }
}

TEST_CASE("des: the same seed gives byte-identical results and bytes sent equal bytes received", "[des]") {
  const Scenario s = wide_all_to_all(R"({"preset": "dgx-h100", "nodes": 8})", R"({"alpha": 0.5, "seed": 11})");
  const StepResult first = run(s, "des"), second = run(s, "des");
  Scenario resolved = s;
  resolved.sim.engine = "des";
  CHECK(result_to_json(first, resolved).dump() == result_to_json(second, resolved).dump());
  // Every byte that leaves through a port enters through another one of the same class.
  std::map<std::string, double> up, down;
  for (const LinkUsage& l : first.links) {
    const double bytes = l.mean_utilization * l.bandwidth_Bps * first.step_time_s;
    const std::string kind = l.name.substr(0, 3);  // nvl, nic, lea(f-spine)
    (l.name.find("_UP") != std::string::npos ? up : down)[kind] += bytes;
  }
  REQUIRE(up.count("nic"));
  for (const auto& [kind, bytes] : up) CHECK(bytes == Approx(down[kind]).epsilon(1e-9));
}

TEST_CASE("des: an NVL72 rack is one NVLink domain, EP 64 inside it crosses no NIC and both engines agree", "[des]") {
  Scenario s = wide_all_to_all(R"({"preset": "gb200-nvl72", "nodes": 1, "gpus_per_node": 64})", R"({"alpha": 1e6})", 2);
  REQUIRE(s.cluster.gpus() == 64);
  const StepResult analytic = run(s, "analytic"), des = run(s, "des");
  CHECK(analytic.a2a_inter_node_bytes == 0);
  CHECK(analytic.a2a_intra_node_bytes > 0);
  CHECK(des.a2a_inter_node_bytes == 0);
  CHECK(des.step_time_s == Approx(analytic.step_time_s).epsilon(0.02));
  // the same all-to-all over eight 8-GPU nodes of the same GPU leaves each GPU's NIC: slower
  Scenario eight = s;
  eight.cluster.nodes = 8;
  eight.cluster.gpus_per_node = 8;
  const StepResult across = run(eight, "analytic");
  CHECK(across.a2a_inter_node_bytes > 0);
  CHECK(part(across, "dispatch") > 2 * part(analytic, "dispatch"));
}

TEST_CASE("des ring all-reduce across nodes: one channel per member of a node, each member's NIC one crossing",
          "[des]") {
  ClusterSpec c = *cluster_presets().find("dgx-h100");
  c.nodes = 2;
  std::vector<int> members(16);
  for (int g = 0; g < 16; ++g) members[size_t(g)] = g;
  const std::vector<Phase> phases = ring_all_reduce(members, 1 << 30, c);
  REQUIRE(phases.size() == 1);
  const CostModel::RingAllReduce ring = CostModel(c, Dtype::BF16).ring_allreduce(1 << 30, 16, 2);
  REQUIRE(ring.channels == 8);
  CHECK(phases[0].transfers.size() == 8 * 16);
  std::map<int, int> crossings_sent, crossings_received;
  double bytes = 0;
  for (const Transfer& t : phases[0].transfers) {
    bytes += t.bytes;
    if (c.node_of(t.src_gpu) != c.node_of(t.dst_gpu)) ++crossings_sent[t.src_gpu], ++crossings_received[t.dst_gpu];
  }
  // every GPU sends and receives exactly one crossing: the 8 NICs of a node share the ring
  CHECK(crossings_sent.size() == 16);
  CHECK(crossings_received.size() == 16);
  for (const auto& [gpu, n] : crossings_sent) CHECK(n == 1);
  for (const auto& [gpu, n] : crossings_received) CHECK(n == 1);
  // each member sends its 2 (n-1)/n of the bytes in all, at the protocol's share of the rate
  CHECK(bytes == Approx(16 * ring.ring_bytes / ring.bandwidth_share));
}
