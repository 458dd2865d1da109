#include "hardware/topology.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>

namespace moesim {

namespace {
// Spine links are aggregated into at most this many parallel spines per leaf, which keeps
// the graph small at 100k GPUs while preserving each leaf's total uplink bandwidth.
constexpr int MAX_SPINES = 64;
}  // namespace

Topology::Topology(const ClusterSpec& cluster) : cluster_(cluster) {
  // GPUs first, so that vertex id == GPU id.
  for (int g = 0; g < cluster_.gpus(); ++g) add_vertex(VertexKind::GPU, g);
  build_nodes();
  if (cluster_.nodes > 1) {
    build_leaves();
    build_spines();
  } else {
    leaf_of_gpu_.assign(cluster_.gpus(), -1);
  }
}

VertexId Topology::add_vertex(VertexKind kind, int index) {
  return boost::add_vertex(TopologyVertex{kind, index}, graph_);
}

void Topology::add_link(VertexId a, VertexId b, LinkClass link_class, double bandwidth_Bps,
                        double latency_s) {
  boost::add_edge(a, b, TopologyLink{link_class, bandwidth_Bps, latency_s}, graph_);
}

void Topology::build_nodes() {
  // The NVSwitch fabric of a node is non-blocking: one switch vertex, one port per GPU.
  // Half the GPU-to-GPU latency on each side of the switch.
  for (int n = 0; n < cluster_.nodes; ++n) {
    VertexId nvswitch = add_vertex(VertexKind::NVSWITCH, n);
    for (int local = 0; local < cluster_.gpus_per_node; ++local) {
      add_link(gpu_vertex(n * cluster_.gpus_per_node + local), nvswitch, LinkClass::NVLINK,
               cluster_.nvlink_payload_Bps(), cluster_.nvlink_latency_s / 2);
    }
  }
}

void Topology::build_leaves() {
  const int gpn = cluster_.gpus_per_node;
  const int groups = (cluster_.nodes + cluster_.nodes_per_leaf - 1) / cluster_.nodes_per_leaf;
  const bool rail = cluster_.fabric == InterNodeFabric::RAIL_OPTIMIZED;
  // Rail-optimized: leaf (group, rail) holds NIC `rail` of each node in the group.
  // Fat tree: leaf `group` holds every NIC of the group's nodes.
  leaves_ = rail ? groups * gpn : groups;
  for (int l = 0; l < leaves_; ++l) leaf_vertices_.push_back(add_vertex(VertexKind::LEAF, l));
  leaf_of_gpu_.resize(cluster_.gpus());
  for (int g = 0; g < cluster_.gpus(); ++g) {
    const int group = cluster_.node_of(g) / cluster_.nodes_per_leaf;
    leaf_of_gpu_[g] = rail ? group * gpn + g % gpn : group;
    // NIC latency is split over the two NIC links of a NIC-leaf-NIC path.
    add_link(gpu_vertex(g), leaf_vertices_[leaf_of_gpu_[g]], LinkClass::NIC, cluster_.nic_payload_Bps(),
             cluster_.nic_latency_s / 2);
  }
}

void Topology::build_spines() {
  const int nodes_per_leaf = std::min(cluster_.nodes_per_leaf, cluster_.nodes);
  const int downlinks = cluster_.fabric == InterNodeFabric::RAIL_OPTIMIZED
                            ? nodes_per_leaf
                            : nodes_per_leaf * cluster_.gpus_per_node;
  leaf_downlinks_ = downlinks;
  leaf_uplink_Bps_ = downlinks * cluster_.nic_payload_Bps() / cluster_.oversubscription;
  spines_ = std::clamp(static_cast<int>(std::ceil(downlinks / cluster_.oversubscription)), 1, MAX_SPINES);
  const double per_spine_Bps = leaf_uplink_Bps_ / spines_;
  for (int s = 0; s < spines_; ++s) {
    VertexId spine = add_vertex(VertexKind::SPINE, s);
    // Switch-to-switch links carry no latency of their own: it is in the NIC figure, and
    // SimGrid's CM02 weights flows by route latency (SIMGRID_NOTES.md).
    for (VertexId leaf : leaf_vertices_) add_link(leaf, spine, LinkClass::SWITCH_UPLINK, per_spine_Bps, 0);
  }
}

void Topology::bfs(int src_gpu, std::vector<int>& distance, std::vector<VertexId>& predecessor) const {
  const auto n = boost::num_vertices(graph_);
  distance.assign(n, std::numeric_limits<int>::max());
  predecessor.assign(n, std::numeric_limits<VertexId>::max());
  std::deque<VertexId> queue;
  const VertexId src = gpu_vertex(src_gpu);
  distance[src] = 0;
  queue.push_back(src);
  while (!queue.empty()) {
    VertexId v = queue.front();
    queue.pop_front();
    if (v != src && graph_[v].kind == VertexKind::GPU) continue;  // GPUs are endpoints only
    for (auto [e, end] = boost::out_edges(v, graph_); e != end; ++e) {
      VertexId w = boost::target(*e, graph_);
      if (distance[w] != std::numeric_limits<int>::max()) continue;
      distance[w] = distance[v] + 1;
      predecessor[w] = v;
      queue.push_back(w);
    }
  }
}

std::vector<VertexId> Topology::route(int src_gpu, int dst_gpu) const {
  std::vector<int> distance;
  std::vector<VertexId> predecessor;
  bfs(src_gpu, distance, predecessor);
  std::vector<VertexId> path;
  for (VertexId v = gpu_vertex(dst_gpu); v != gpu_vertex(src_gpu); v = predecessor[v]) path.push_back(v);
  path.push_back(gpu_vertex(src_gpu));
  std::reverse(path.begin(), path.end());
  return path;
}

std::vector<int> Topology::hop_histogram(int src_gpu) const {
  std::vector<int> distance;
  std::vector<VertexId> predecessor;
  bfs(src_gpu, distance, predecessor);
  std::vector<int> histogram;
  for (int g = 0; g < gpus(); ++g) {
    if (g == src_gpu) continue;
    const int d = distance[gpu_vertex(g)];
    if (d >= static_cast<int>(histogram.size())) histogram.resize(d + 1, 0);
    ++histogram[d];
  }
  return histogram;
}

double Topology::route_latency_s(int src_gpu, int dst_gpu) const {
  const auto path = route(src_gpu, dst_gpu);
  double latency = 0;
  for (size_t i = 0; i + 1 < path.size(); ++i) {
    auto [e, found] = boost::edge(path[i], path[i + 1], graph_);
    latency += graph_[e].latency_s;
  }
  return latency;
}

}  // namespace moesim
