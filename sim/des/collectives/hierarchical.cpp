// Hierarchical all-to-all for rail-optimized fabrics (NCCL's PXN): data for GPU j of
// another node first moves over NVLink to GPU j of the sender's node, the "rail peer" of
// the destination; then one transfer per (source node, destination node, rail) crosses the
// network on that rail, never through a spine. The NVLink scatter at the destination is
// empty because the rail peer's transfer lands on the destination GPU itself. Intra-node
// traffic goes directly in the NVLink phase.
#include <map>
#include <tuple>

#include "sim/des/collectives.hpp"

namespace moesim {

std::vector<Phase> hierarchical_all_to_all(const std::vector<int>& members, const std::vector<double>& bytes,
                                           const ClusterSpec& cluster) {
  const size_t n = members.size();
  const int gpn = cluster.gpus_per_node;
  std::map<std::pair<int, int>, double> nvlink;        // (src GPU, dst GPU) -> bytes
  std::map<std::tuple<int, int, int>, double> rails;  // (src node, dst node, rail) -> bytes
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j) {
      const double b = bytes[i * n + j];
      if (i == j || b <= 0) continue;
      const int src = members[i], dst = members[j];
      const int src_node = cluster.node_of(src), dst_node = cluster.node_of(dst), rail = dst % gpn;
      if (src_node == dst_node) {
        nvlink[{src, dst}] += b;
        continue;
      }
      const int rail_peer = src_node * gpn + rail;
      if (rail_peer != src) nvlink[{src, rail_peer}] += b;
      rails[{src_node, dst_node, rail}] += b;
    }
  Phase gather, network;
  for (const auto& [pair, b] : nvlink) gather.transfers.push_back({pair.first, pair.second, b});
  for (const auto& [key, b] : rails) {
    const auto& [src_node, dst_node, rail] = key;
    network.transfers.push_back({src_node * gpn + rail, dst_node * gpn + rail, b});
  }
  std::vector<Phase> phases;
  for (Phase* p : {&gather, &network})
    if (!p->transfers.empty()) phases.push_back(std::move(*p));
  return phases;
}

}  // namespace moesim
