// Co-activation placement: experts that the same tokens choose together go to the same GPU,
// and failing that the same node, so a token is sent to fewer GPUs and nodes. The
// co-activation graph (an edge per pair of experts chosen by one token, weighted by how many
// tokens did) is partitioned into one part per node of equal size, then each node's part into
// one per GPU: each part grows from the busiest free expert by repeatedly adding the free
// expert most connected to it, then pairwise swaps between parts that raise the weight kept
// inside parts (Kernighan-Lin) run until none helps.
#include <boost/graph/adjacency_list.hpp>

#include <string>

#include "hardware/input_error.hpp"
#include "models/placement/placement.hpp"

namespace moesim {

namespace {

using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::undirectedS, boost::no_property,
                                    boost::property<boost::edge_weight_t, double>>;

// The graph among `members` (vertex i is members[i]).
Graph coactivation_graph(const LayerStatistics& stats, const std::vector<int>& members) {
  const size_t experts = stats.expert_load.size();
  Graph g(members.size());
  for (size_t i = 0; i < members.size(); ++i)
    for (size_t j = i + 1; j < members.size(); ++j) {
      const size_t a = members[i], b = members[j];
      const double w = stats.coactivation[a * experts + b] + stats.coactivation[b * experts + a];
      if (w > 0) boost::add_edge(i, j, w, g);
    }
  return g;
}

class Partition {
 public:
  Partition(const Graph& g, const std::vector<double>& load, int parts)
      : g_(g), load_(load), parts_(parts), part_(load.size(), -1),
        link_(load.size(), std::vector<double>(parts, 0)) {}

  std::vector<int> run(int max_passes) {
    const int n = int(load_.size()), per_part = n / parts_;
    for (int p = 0; p < parts_; ++p)
      for (int size = 0; size < per_part; ++size) assign(best_free(p, size == 0), p);
    for (int pass = 0; pass < max_passes && improve(); ++pass) {
    }
    return part_;
  }

 private:
  // The free expert most linked to part p (the busiest one to seed a part); ties by id.
  int best_free(int p, bool seed) const {
    int best = -1;
    for (int v = 0; v < int(load_.size()); ++v) {
      if (part_[v] >= 0) continue;
      const double key = seed ? load_[v] : link_[v][p];
      const double best_key = best < 0 ? 0 : seed ? load_[best] : link_[best][p];
      if (best < 0 || key > best_key) best = v;
    }
    return best;
  }

  void assign(int v, int p) {
    if (part_[v] >= 0) relink(v, part_[v], -1);
    part_[v] = p;
    relink(v, p, +1);
  }

  void relink(int v, int p, double sign) {
    const auto weight = boost::get(boost::edge_weight, g_);
    for (auto [e, end] = boost::out_edges(v, g_); e != end; ++e) link_[boost::target(*e, g_)][p] += sign * weight[*e];
  }

  double edge(int a, int b) const {
    const auto [e, found] = boost::edge(a, b, g_);
    return found ? boost::get(boost::edge_weight, g_, e) : 0;
  }

  // One pass of the best swaps: true if any raised the internal weight.
  bool improve() {
    bool changed = false;
    const int n = int(load_.size());
    for (int a = 0; a < n; ++a)
      for (int b = a + 1; b < n; ++b) {
        const int pa = part_[a], pb = part_[b];
        if (pa == pb) continue;
        const double gain = link_[a][pb] - link_[a][pa] + link_[b][pa] - link_[b][pb] - 2 * edge(a, b);
        if (gain > 1e-9) {
          assign(a, pb);
          assign(b, pa);
          changed = true;
        }
      }
    return changed;
  }

  const Graph& g_;
  const std::vector<double>& load_;
  int parts_;
  std::vector<int> part_;
  std::vector<std::vector<double>> link_;  // [expert][part]: edge weight from the expert into the part
};

}  // namespace

// Splits `members` into `parts` equal parts; returns the part of each member.
std::vector<int> split(const LayerStatistics& stats, const std::vector<int>& members, int parts, int passes) {
  const Graph graph = coactivation_graph(stats, members);
  std::vector<double> load;
  for (int e : members) load.push_back(stats.expert_load[e]);
  return Partition(graph, load, parts).run(passes);
}

Placement make_coactivation_placement(const Params& params, const PlacementInput& in) {
  const int nodes = std::max(1, in.ep / in.ranks_per_node), ranks_per_node = in.ep / nodes;
  const int passes = int(params.number("passes"));
  if (in.experts % in.ep != 0)
    throw InputError("coactivation placement needs experts divisible by plan.ep (" + std::to_string(in.experts) + " / " +
                     std::to_string(in.ep) + ")");
  const LayerStatistics& stats = in.statistics();
  std::vector<int> all(in.experts);
  for (int e = 0; e < in.experts; ++e) all[e] = e;
  const std::vector<int> node_of = split(stats, all, nodes, passes);
  std::vector<int> rank_of(in.experts);
  for (int node = 0; node < nodes; ++node) {
    std::vector<int> members;
    for (int e = 0; e < in.experts; ++e)
      if (node_of[e] == node) members.push_back(e);
    const std::vector<int> local_rank = split(stats, members, ranks_per_node, passes);
    for (size_t i = 0; i < members.size(); ++i) rank_of[members[i]] = node * ranks_per_node + local_rank[i];
  }
  return placement_from_ranks(rank_of, in.ep);
}

std::vector<ParamSpec> coactivation_placement_params() {
  return {{"passes", ParamKind::INTEGER, 10.0, "Kernighan-Lin swap passes after the greedy growth", std::nullopt, 0.0}};
}

}  // namespace moesim
