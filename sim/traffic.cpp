// Routing to traffic: score source -> router -> placement -> per-GPU port counts.
#include "sim/traffic.hpp"

#include <algorithm>
#include <cmath>

#include "models/routing/router.hpp"
#include "models/scores/score_source.hpp"

namespace moesim {

EpGroupLayout ep_group_layout(const ParallelPlan& plan, const Topology& topology) {
  EpGroupLayout g;
  g.ep = plan.ep;
  g.etp = plan.etp;
  std::vector<int> leaf_index(std::max(topology.leaves(), 1), -1);
  for (int member = 0; member < plan.ep_group_gpus(); ++member) {
    // Expert ranks are etp-innermost, then ep: replica 0 of stage 0 is GPUs 0 .. ep*etp-1.
    const int gpu = member;
    g.gpu.push_back(gpu);
    g.node.push_back(topology.cluster().node_of(gpu));
    const int leaf = topology.leaf_of(gpu);
    if (leaf >= 0 && leaf_index[leaf] < 0) {
      leaf_index[leaf] = int(g.leaves.size());
      g.leaves.push_back(leaf);
      g.members_of_leaf.push_back(0);
    }
    if (leaf >= 0) ++g.members_of_leaf[leaf_index[leaf]];
    g.leaf.push_back(leaf >= 0 ? leaf_index[leaf] : -1);
  }
  return g;
}

PortPeaks port_peaks(const MicroBatchLoad& load, const EpGroupLayout& group, const Topology& topology, bool reverse) {
  PortPeaks peaks;
  const auto& send_intra = reverse ? load.recv_intra : load.send_intra;
  const auto& recv_intra = reverse ? load.send_intra : load.recv_intra;
  const auto& send_inter = reverse ? load.recv_inter : load.send_inter;
  const auto& recv_inter = reverse ? load.send_inter : load.recv_inter;
  for (int i = 0; i < group.size(); ++i) {
    peaks.nvlink_copies = std::max({peaks.nvlink_copies, send_intra[i], recv_intra[i]});
    peaks.nic_copies = std::max({peaks.nic_copies, send_inter[i], recv_inter[i]});
  }
  // The other EP groups under the same leaf send alike, so a leaf's uplink load is this
  // group's load scaled by (NIC ports under the leaf / this group's GPUs under it).
  for (size_t leaf = 0; leaf < group.leaves.size(); ++leaf) {
    const double copies = std::max(load.leaf_up[leaf], load.leaf_down[leaf]);
    if (copies <= 0) continue;
    const double fill = double(topology.leaf_downlinks()) / group.members_of_leaf[leaf];
    peaks.uplink_s_per_byte = std::max(peaks.uplink_s_per_byte, copies * fill / topology.leaf_uplink_Bps());
  }
  return peaks;
}

double PortPeaks::time_s(double bytes_per_copy, const ClusterSpec& c) const {
  const double ports = std::max(nvlink_copies / c.nvlink_Bps, nic_copies > 0 ? nic_copies / c.nic_Bps : 0);
  double latency = nvlink_copies > 0 ? c.nvlink_latency_s : 0;
  if (nic_copies > 0) latency = std::max(latency, c.nic_latency_s);
  return std::max(ports, uplink_s_per_byte) * bytes_per_copy + latency;
}

double all_to_all_s(const MicroBatchLoad& load, const EpGroupLayout& group, const Topology& topology,
                    double bytes_per_copy, bool reverse) {
  return port_peaks(load, group, topology, reverse).time_s(bytes_per_copy, topology.cluster());
}

namespace {

double max_over_mean(const std::vector<long>& counts) {
  double total = 0, most = 0;
  for (long c : counts) total += c, most = std::max(most, double(c));
  return total > 0 ? most / (total / counts.size()) : 0;
}

class StepRouter {
 public:
  StepRouter(const Scenario& s, const Topology& topology)
      : s_(s),
        topology_(topology),
        router_(router_policies().find(s.router.name)->make(s.router.params)),
        scores_(score_sources().find(s.scores.name)->make(s.scores.params, s.model)) {
    out_.group = ep_group_layout(s.plan, topology);
    out_.placement = placement_strategies().find(s.placement.name)->make(s.placement.params, s.model.experts, s.plan.ep);
    out_.tokens_per_gpu = s.plan.tokens_per_gpu();
    out_.routed_micro_batches = std::min(s.plan.micro_batches, s.sim.routed_micro_batches.value_or(s.plan.micro_batches));
  }

  RoutedStep run() {
    for (int layer = 0; layer < s_.model.layers; ++layer) {
      if (!s_.model.is_moe_layer(layer)) continue;
      LayerLoad load;
      load.layer = layer;
      load.expert_tokens.assign(s_.model.experts, 0);
      for (int mb = 0; mb < out_.routed_micro_batches; ++mb) {
        load.micro_batches.push_back(route_micro_batch(layer, mb));
        for (int e = 0; e < s_.model.experts; ++e) load.expert_tokens[e] += load.micro_batches.back().expert_tokens[e];
        load.dropped += load.micro_batches.back().dropped;
      }
      load.max_over_mean = max_over_mean(load.expert_tokens);
      out_.layers.push_back(std::move(load));
    }
    return std::move(out_);
  }

 private:
  MicroBatchLoad route_micro_batch(int layer, int micro_batch) {
    const EpGroupLayout& g = out_.group;
    MicroBatchLoad load;
    load.expert_tokens.assign(s_.model.experts, 0);
    for (auto* v : {&load.send_intra, &load.send_inter, &load.recv_intra, &load.recv_inter}) v->assign(g.size(), 0);
    load.leaf_up.assign(g.leaves.size(), 0);
    load.leaf_down.assign(g.leaves.size(), 0);
    load.pair_copies.assign(size_t(g.size()) * g.size(), 0);
    for (int src = 0; src < g.size(); ++src) {
      scores_->top_choices({layer, micro_batch, g.gpu[src]}, out_.tokens_per_gpu, s_.model.top_k, router_->uses_scores(),
                           choices_);
      router_->route(choices_, s_.model.experts, routing_);
      for (int e = 0; e < s_.model.experts; ++e) load.expert_tokens[e] += routing_.expert_tokens[e];
      load.routed += routing_.routed;
      load.dropped += routing_.dropped;
      count_copies(src, load);
    }
    summarize(load);
    return load;
  }

  void summarize(MicroBatchLoad& load) const {
    const EpGroupLayout& g = out_.group;
    for (double c : load.send_intra) load.intra_copies += c;
    for (double c : load.send_inter) load.inter_copies += c;
    const double tile = s_.cluster.gemm_tile_rows;
    load.rank_rows.assign(g.ep, 0);
    load.rank_padded_rows.assign(g.ep, 0);
    for (int rank = 0; rank < g.ep; ++rank)
      for (int e : out_.placement.experts_of_rank[rank]) {
        load.rank_rows[rank] += load.expert_tokens[e];
        load.rank_padded_rows[rank] += std::ceil(load.expert_tokens[e] / tile) * tile;
      }
    load.to_experts = port_peaks(load, g, topology_, false);
    load.to_owners = port_peaks(load, g, topology_, true);
  }

  // One copy per (token, destination EP rank), to each of that rank's etp shards.
  void count_copies(int src, MicroBatchLoad& load) {
    const EpGroupLayout& g = out_.group;
    const int k = choices_.top_k;
    stamp_.assign(g.ep, -1);  // stamp_[rank] == t: token t already sent to rank
    for (int t = 0; t < choices_.tokens; ++t) {
      for (int c = 0; c < k; ++c) {
        const size_t i = size_t(t) * k + c;
        if (!routing_.accepted[i]) continue;
        const int rank = out_.placement.ep_rank_of_expert[choices_.expert[i]];
        if (stamp_[rank] == t) continue;
        stamp_[rank] = t;
        for (int shard = 0; shard < g.etp; ++shard) add_copy(src, rank * g.etp + shard, load);
      }
    }
  }

  void add_copy(int src, int dst, MicroBatchLoad& load) const {
    const EpGroupLayout& g = out_.group;
    if (src == dst) {
      ++load.local_copies;
      return;
    }
    ++load.pair_copies[size_t(src) * g.size() + dst];
    if (g.node[src] == g.node[dst]) {
      ++load.send_intra[src];
      ++load.recv_intra[dst];
    } else {
      ++load.send_inter[src];
      ++load.recv_inter[dst];
      if (g.leaf[src] != g.leaf[dst]) {
        ++load.leaf_up[g.leaf[src]];
        ++load.leaf_down[g.leaf[dst]];
      }
    }
  }

  const Scenario& s_;
  const Topology& topology_;
  std::unique_ptr<RouterPolicy> router_;
  std::unique_ptr<ScoreSource> scores_;
  RoutedStep out_;
  TokenChoices choices_;
  GroupRouting routing_;
  std::vector<int> stamp_;
};

}  // namespace

RoutedStep route_step(const Scenario& scenario, const Topology& topology) {
  return StepRouter(scenario, topology).run();
}

}  // namespace moesim
