// The cluster graph: routes and hop counts.
#include <catch2/catch.hpp>

#include "hardware/topology.hpp"

using namespace moesim;

namespace {
ClusterSpec cluster(int nodes, InterNodeFabric fabric, int nodes_per_leaf, double oversubscription = 1) {
  ClusterSpec c = *cluster_presets().find("dgx-h100");
  c.nodes = nodes;
  c.fabric = fabric;
  c.nodes_per_leaf = nodes_per_leaf;
  c.oversubscription = oversubscription;
  return c;
}
}  // namespace

TEST_CASE("one node: every GPU is two hops away through the NVSwitch", "[topology]") {
  const Topology t(cluster(1, InterNodeFabric::RAIL_OPTIMIZED, 32));
  CHECK(t.hop_histogram(3) == std::vector<int>{0, 0, 7});
  CHECK(t.route_latency_s(0, 5) == Approx(1e-6));
}

TEST_CASE("rail-optimized 2048 GPUs: 38 GPUs at 2 hops and 2009 at 4", "[topology]") {
  /* Same node: 7 GPUs via the NVSwitch; same rail in the same 32-node group: 31 via the rail leaf.
   * Everything else crosses leaf -> spine -> leaf (GPUs never forward). 7 + 31 = 38; 2047 - 38 = 2009. */
  const Topology t(cluster(256, InterNodeFabric::RAIL_OPTIMIZED, 32));
  CHECK(t.hop_histogram(0) == std::vector<int>{0, 0, 38, 0, 2009});
  CHECK(t.hops(0, 8) == 2);   // GPU 0 of node 1: same rail
  CHECK(t.hops(0, 9) == 4);   // GPU 1 of node 1: another rail
  CHECK(t.leaves() == 8 * 8);
}

TEST_CASE("fat tree: leaf holds whole nodes and uplinks shrink with oversubscription", "[topology]") {
  const Topology t(cluster(8, InterNodeFabric::FAT_TREE, 2, 4.0));
  CHECK(t.leaves() == 4);
  CHECK(t.hops(0, 8) == 2);    // node 1, same leaf
  CHECK(t.hops(0, 16) == 4);   // node 2, another leaf
  /* 16 NICs of 50 GB/s (44 of payload) under a leaf at 4:1 -> 176 GB/s of uplink payload. */
  CHECK(t.leaf_uplink_Bps() == Approx(16 * 50e9 * 0.88 / 4));
  CHECK(t.leaf_downlinks() == 16);
}
