// DeepSeek EPLB placement. The three steps and their tie rules follow EPLB's published
// algorithm: balanced packing takes items by descending weight (stable), each into the
// lightest pack that still has room; replication repeatedly copies the expert with the
// highest load per replica (the first on ties).
#include "models/placement/eplb.hpp"

#include <algorithm>
#include <numeric>
#include <string>

#include "hardware/input_error.hpp"
#include "models/placement/placement.hpp"

namespace moesim {

namespace {

struct Packing {
  std::vector<int> pack, rank_in_pack;
};

Packing balanced_packing(const std::vector<double>& weight, int packs) {
  const int n = int(weight.size()), per_pack = n / packs;
  Packing p{std::vector<int>(n), std::vector<int>(n)};
  if (per_pack == 1) {
    std::iota(p.pack.begin(), p.pack.end(), 0);
    std::fill(p.rank_in_pack.begin(), p.rank_in_pack.end(), 0);
    return p;
  }
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return weight[a] > weight[b]; });
  std::vector<double> pack_weight(packs, 0);
  std::vector<int> pack_items(packs, 0);
  for (int item : order) {
    int best = -1;
    for (int q = 0; q < packs; ++q)
      if (pack_items[q] < per_pack && (best < 0 || pack_weight[q] < pack_weight[best])) best = q;
    p.pack[item] = best;
    p.rank_in_pack[item] = pack_items[best]++;
    pack_weight[best] += weight[item];
  }
  return p;
}

struct Replication {
  std::vector<int> phy2log;  // logical expert of each physical slot
  std::vector<int> count;    // replicas per logical expert
};

Replication replicate(const std::vector<double>& weight, int physical) {
  const int logical = int(weight.size());
  Replication r{std::vector<int>(physical), std::vector<int>(logical, 1)};
  std::iota(r.phy2log.begin(), r.phy2log.begin() + logical, 0);
  for (int slot = logical; slot < physical; ++slot) {
    int best = 0;
    for (int e = 1; e < logical; ++e)
      if (weight[e] / r.count[e] > weight[best] / r.count[best]) best = e;
    r.phy2log[slot] = best;
    ++r.count[best];
  }
  return r;
}

void require(bool ok, const std::string& what) {
  if (!ok) throw InputError("EPLB placement: " + what);
}

}  // namespace

std::vector<int> pack_evenly(const std::vector<double>& weight, int packs) {
  return balanced_packing(weight, packs).pack;
}

std::vector<int> eplb_rebalance(const std::vector<double>& load, int physical, int groups, int nodes, int gpus) {
  const int logical = int(load.size());
  if (groups % nodes != 0) groups = nodes = 1;  // EPLB's fallback: the global policy
  require(logical % groups == 0, std::to_string(groups) + " groups do not divide " + std::to_string(logical) + " experts");
  require(gpus % nodes == 0 && physical % gpus == 0,
          std::to_string(physical) + " slots do not fill " + std::to_string(gpus) + " GPUs evenly");
  require(physical >= logical, "fewer slots than experts");
  const int group_size = logical / groups, groups_per_node = groups / nodes;
  const int per_node_logical = logical / nodes, per_node_physical = physical / nodes;
  const int per_gpu = physical / gpus, gpus_per_node = gpus / nodes;
  require(per_node_physical >= per_node_logical, "a node gets fewer slots than experts");

  // 1. Expert groups to nodes; experts renumbered node by node ("middle" ids).
  std::vector<double> group_load(groups, 0);
  for (int e = 0; e < logical; ++e) group_load[e / group_size] += load[e];
  const Packing group_packing = balanced_packing(group_load, nodes);
  std::vector<int> mlog2log(logical);
  for (int e = 0; e < logical; ++e) {
    const int g = e / group_size;
    const int mlog = (group_packing.pack[g] * groups_per_node + group_packing.rank_in_pack[g]) * group_size + e % group_size;
    mlog2log[mlog] = e;
  }
  std::vector<int> phy2log(physical);
  for (int node = 0; node < nodes; ++node) {
    // 2. Replicas inside the node.
    std::vector<double> node_load(per_node_logical);
    for (int m = 0; m < per_node_logical; ++m) node_load[m] = load[mlog2log[node * per_node_logical + m]];
    const Replication rep = replicate(node_load, per_node_physical);
    // 3. Replicas to the node's GPUs, each weighing its expert's load / replicas.
    std::vector<double> replica_load(per_node_physical);
    for (int s = 0; s < per_node_physical; ++s) replica_load[s] = node_load[rep.phy2log[s]] / rep.count[rep.phy2log[s]];
    const Packing gpu_packing = balanced_packing(replica_load, gpus_per_node);
    for (int s = 0; s < per_node_physical; ++s) {
      const int slot = gpu_packing.pack[s] * per_gpu + gpu_packing.rank_in_pack[s];
      phy2log[node * per_node_physical + slot] = mlog2log[node * per_node_logical + rep.phy2log[s]];
    }
  }
  return phy2log;
}

namespace {

Placement eplb_placement(const PlacementInput& in, int redundant, int groups, int nodes) {
  const std::vector<int> phy2log =
      eplb_rebalance(in.statistics().expert_load, in.experts + redundant, groups, nodes, in.ep);
  const int per_gpu = int(phy2log.size()) / in.ep;
  std::vector<std::vector<int>> ranks_of_expert(in.experts);
  for (int slot = 0; slot < int(phy2log.size()); ++slot) ranks_of_expert[phy2log[slot]].push_back(slot / per_gpu);
  return placement_from_replicas(ranks_of_expert, in.ep);
}

int redundant_slots(const Params& params, const PlacementInput& in) {
  const auto redundant = params.optional_number("redundant");
  return redundant ? int(*redundant) : in.ep;
}

std::vector<ParamSpec> eplb_params() {
  return {{"redundant", ParamKind::OPTIONAL_INTEGER, std::monostate(),
           "extra expert slots for replicas (experts + redundant must fill the EP ranks evenly); null = one per rank",
           std::nullopt, 0.0}};
}

}  // namespace

Placement make_eplb_hierarchical_placement(const Params& params, const PlacementInput& in) {
  const int nodes = std::max(1, in.ep / in.ranks_per_node);
  const auto groups = params.optional_number("groups");
  return eplb_placement(in, redundant_slots(params, in), groups ? int(*groups) : nodes, nodes);
}

std::vector<ParamSpec> eplb_hierarchical_placement_params() {
  auto params = eplb_params();
  params.push_back({"groups", ParamKind::OPTIONAL_INTEGER, std::monostate(),
                    "expert groups packed to nodes (contiguous ids); null = one per node", std::nullopt, 1.0});
  return params;
}

Placement make_eplb_global_placement(const Params& params, const PlacementInput& in) {
  return eplb_placement(in, redundant_slots(params, in), 1, 1);
}

std::vector<ParamSpec> eplb_global_placement_params() { return eplb_params(); }

}  // namespace moesim
