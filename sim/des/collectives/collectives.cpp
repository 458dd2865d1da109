// The all-to-all algorithm registry: one line per algorithm; and the ring all-reduce.
#include "sim/des/collectives.hpp"

#include <algorithm>

#include "models/cost_model.hpp"

namespace moesim {

std::vector<Phase> flat_all_to_all(const std::vector<int>&, const std::vector<double>&, const ClusterSpec&);
std::vector<Phase> hierarchical_all_to_all(const std::vector<int>&, const std::vector<double>&, const ClusterSpec&);

const Registry<AllToAllAlgorithm>& all_to_all_algorithms() {
  static const auto registry = [] {
    Registry<AllToAllAlgorithm> r("all-to-all algorithm");
    r.add("flat", "one transfer per GPU pair (NCCL's default all-to-all)", flat_all_to_all);
    r.add("hierarchical", "NVLink to the destination's rail peer, then one transfer per (node pair, rail) (PXN)",
          hierarchical_all_to_all);
    return r;
  }();
  return registry;
}

std::vector<Phase> ring_all_reduce(const std::vector<int>& members, double bytes, const ClusterSpec& cluster) {
  const int n = int(members.size());
  if (n <= 1 || bytes <= 0) return {};
  // the members of each node, in the group's order
  std::vector<std::vector<int>> by_node;
  std::vector<int> node_ids;
  for (int g : members) {
    const int node = cluster.node_of(g);
    const auto it = std::find(node_ids.begin(), node_ids.end(), node);
    if (it == node_ids.end()) node_ids.push_back(node), by_node.push_back({g});
    else by_node[size_t(it - node_ids.begin())].push_back(g);
  }
  // The ring as the analytic model prices it (protocol, latency, channels): its bytes move
  // here as flows, each channel's ring visiting every node's members from a different first
  // one, so that every member's NIC sends one channel's crossing. (An NVLS all-reduce, which
  // the platform's switches cannot run, moves over the same neighbours at its share.)
  const CostModel::RingAllReduce ring = CostModel(cluster, Dtype::BF16).ring_allreduce(bytes, n, int(by_node.size()));
  Phase phase;
  const bool crosses_nodes = by_node.size() > 1;
  for (int c = 0; c < ring.channels; ++c) {
    std::vector<int> order;
    for (const std::vector<int>& local : by_node)
      for (size_t i = 0; i < local.size(); ++i) order.push_back(local[(i + size_t(c)) % local.size()]);
    for (int i = 0; i < n; ++i)
      phase.transfers.push_back({order[i], order[(i + 1) % n], ring.ring_bytes / ring.channels / ring.bandwidth_share});
  }
  // The phase's transfers pay one route latency; the ring's other steps add the rest.
  const double route_latency_s = crosses_nodes ? cluster.nic_latency_s : cluster.nvlink_latency_s;
  phase.extra_latency_s = std::max(0.0, ring.latency_s - route_latency_s);
  return {phase};
}

}  // namespace moesim
