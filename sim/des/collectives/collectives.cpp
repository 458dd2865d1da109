// The all-to-all algorithm registry: one line per algorithm; and the ring all-reduce.
#include "sim/des/collectives.hpp"

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
  Phase phase;
  bool crosses_nodes = false;
  for (int i = 0; i < n; ++i) {
    const int next = members[(i + 1) % n];
    phase.transfers.push_back({members[i], next, 2.0 * (n - 1) / n * bytes});
    crosses_nodes |= cluster.node_of(members[i]) != cluster.node_of(next);
  }
  // The phase's transfers pay one route latency; the ring's other 2(n-1) - 1 steps add theirs.
  const double step_latency_s = crosses_nodes ? cluster.nic_latency_s : cluster.nvlink_latency_s;
  phase.extra_latency_s = (2.0 * (n - 1) - 1) * step_latency_s;
  return {phase};
}

}  // namespace moesim
