#pragma once
#include <vector>

namespace moesim {

// DeepSeek's expert-parallelism load balancer (github.com/deepseek-ai/EPLB), one layer, step
// by step as its algorithm specifies. Returns phy2log: the logical expert held by each of
// `physical` slots, slots ordered GPU by GPU (physical / gpus per GPU).
//   hierarchical (groups % nodes == 0): pack expert groups to nodes by load, replicate the
//   experts with the highest load per replica inside each node, pack the replicas to the
//   node's GPUs; otherwise (and the global policy: groups = nodes = 1) the same on one node.
// EPLB's balanced packing, shared with other strategies: items by descending weight, each
// into the lightest of `packs` packs that still has room (items / packs per pack). Returns
// each item's pack.
std::vector<int> pack_evenly(const std::vector<double>& weight, int packs);

std::vector<int> eplb_rebalance(const std::vector<double>& load, int physical, int groups, int nodes, int gpus);

}  // namespace moesim
