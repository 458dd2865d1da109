#pragma once
#include <vector>

#include <boost/graph/adjacency_list.hpp>

#include "hardware/cluster.hpp"

namespace moesim {

enum class VertexKind { GPU, NVSWITCH, LEAF, SPINE };
enum class LinkClass { NVLINK, NIC, SWITCH_UPLINK };

struct TopologyVertex {
  VertexKind kind = VertexKind::GPU;
  int index = 0;  // GPU id, node id, leaf id or spine id
};

// A full-duplex link: bandwidth_Bps is per direction.
struct TopologyLink {
  LinkClass link_class = LinkClass::NVLINK;
  double bandwidth_Bps = 0;
  double latency_s = 0;
};

using TopologyGraph =
    boost::adjacency_list<boost::vecS, boost::vecS, boost::undirectedS, TopologyVertex, TopologyLink>;
using VertexId = boost::graph_traits<TopologyGraph>::vertex_descriptor;

// The cluster as a graph of GPUs, switches and links. Routes never transit a GPU: data that
// leaves a GPU goes through its NVSwitch port or its own NIC, as on real nodes.
class Topology {
 public:
  explicit Topology(const ClusterSpec& cluster);

  const TopologyGraph& graph() const { return graph_; }
  const ClusterSpec& cluster() const { return cluster_; }
  int gpus() const { return cluster_.gpus(); }
  int leaves() const { return leaves_; }
  int spines() const { return spines_; }
  int leaf_of(int gpu) const { return leaf_of_gpu_[gpu]; }
  VertexId gpu_vertex(int gpu) const { return static_cast<VertexId>(gpu); }
  // Total bandwidth from one leaf to the spine layer, per direction.
  double leaf_uplink_Bps() const { return leaf_uplink_Bps_; }
  // NIC ports under one leaf.
  int leaf_downlinks() const { return leaf_downlinks_; }

  // Vertices from src to dst inclusive along one shortest path (one spine where several tie).
  std::vector<VertexId> route(int src_gpu, int dst_gpu) const;
  int hops(int src_gpu, int dst_gpu) const { return static_cast<int>(route(src_gpu, dst_gpu).size()) - 1; }
  // How many GPUs lie at each hop distance from src (index = hops).
  std::vector<int> hop_histogram(int src_gpu) const;
  // Sum of link latencies along the route.
  double route_latency_s(int src_gpu, int dst_gpu) const;

 private:
  VertexId add_vertex(VertexKind kind, int index);
  void add_link(VertexId a, VertexId b, LinkClass link_class, double bandwidth_Bps, double latency_s);
  void build_nodes();
  void build_leaves();
  void build_spines();
  // Breadth-first distances and predecessors from a GPU, not expanding through other GPUs.
  void bfs(int src_gpu, std::vector<int>& distance, std::vector<VertexId>& predecessor) const;

  ClusterSpec cluster_;
  TopologyGraph graph_;
  std::vector<int> leaf_of_gpu_;
  std::vector<VertexId> leaf_vertices_;
  int leaves_ = 0;
  int spines_ = 0;
  double leaf_uplink_Bps_ = 0;
  int leaf_downlinks_ = 0;
};

}  // namespace moesim
