// Hierarchical all-to-all for rail-optimized fabrics (NCCL's PXN): data for GPU j of
// another node first moves over NVLink to GPU j of the sender's node, the "rail peer" of
// the destination; then one transfer per (source node, destination node, rail) crosses the
// network on that rail (no cross-rail hop through a spine). The NVLink scatter at the destination is
// empty because the rail peer's transfer lands on the destination GPU itself. Intra-node
// traffic goes directly in the NVLink phase.
#include <algorithm>

#include "sim/des/collectives.hpp"

namespace moesim {

std::vector<Phase> hierarchical_all_to_all(const std::vector<int>& members, const std::vector<double>& bytes,
                                           const ClusterSpec& cluster) {
  const size_t n = members.size();
  const int gpn = cluster.gpus_per_node;
  // The group's nodes, and each member's index among them.
  std::vector<int> nodes, node_index(n);
  for (size_t i = 0; i < n; ++i) {
    const int node = cluster.node_of(members[i]);
    auto it = std::find(nodes.begin(), nodes.end(), node);
    if (it == nodes.end()) it = nodes.insert(nodes.end(), node);
    node_index[i] = int(it - nodes.begin());
  }
  const size_t node_count = nodes.size();
  // nvlink[i * gpn + r]: bytes member i moves to GPU r of its own node (the destination
  // itself for intra-node traffic, else the destination's rail peer).
  // rails[(a * N + b) * gpn + r]: bytes from node a to node b on rail r.
  std::vector<double> nvlink(n * gpn, 0), rails(node_count * node_count * gpn, 0);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j) {
      const double b = bytes[i * n + j];
      if (i == j || b <= 0) continue;
      const int rail = members[j] % gpn;
      nvlink[i * gpn + rail] += b;
      if (node_index[i] != node_index[j]) rails[(node_index[i] * node_count + node_index[j]) * gpn + rail] += b;
    }
  Phase gather, network;
  for (size_t i = 0; i < n; ++i)
    for (int rail = 0; rail < gpn; ++rail) {
      const int peer = nodes[node_index[i]] * gpn + rail;
      if (nvlink[i * gpn + rail] > 0 && peer != members[i]) gather.transfers.push_back({members[i], peer, nvlink[i * gpn + rail]});
    }
  for (size_t a = 0; a < node_count; ++a)
    for (size_t b = 0; b < node_count; ++b)
      for (int rail = 0; rail < gpn; ++rail)
        if (const double v = rails[(a * node_count + b) * gpn + rail]; v > 0)
          network.transfers.push_back({nodes[a] * gpn + rail, nodes[b] * gpn + rail, v});
  std::vector<Phase> phases;
  for (Phase* p : {&gather, &network})
    if (!p->transfers.empty()) phases.push_back(std::move(*p));
  return phases;
}

}  // namespace moesim
