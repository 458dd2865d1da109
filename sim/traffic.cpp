// Routing to traffic: score source -> router -> placement -> per-GPU port counts.
#include "sim/traffic.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "sim/progress.hpp"

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
  const double ports =
      std::max(nvlink_copies / c.nvlink_payload_Bps(), nic_copies > 0 ? nic_copies / c.nic_payload_Bps() : 0);
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

}  // namespace

StepRouter::StepRouter(const Scenario& s, const Topology& topology)
    : s_(s),
      topology_(topology),
      group_(ep_group_layout(s.plan, topology)),
      scores_(score_sources().find(s.scores.name)->make(s.scores.params, s.model)) {
  RouterSetup setup;
  setup.experts = s.model.experts;
  setup.top_k = s.model.top_k;
  setup.tokens = s.plan.tokens_per_gpu();
  setup.seq_len = s.plan.seq_len;
  setup.ep_nodes = std::max(1, group_.node.back() - group_.node.front() + 1);
  router_ = router_policies().find(s.router.name)->make(s.router.params, setup);
  routed_micro_batches_ = std::min(s.plan.micro_batches, s.sim.routed_micro_batches.value_or(s.plan.micro_batches));
  placements_.resize(s.model.layers);
  planned_at_step_.assign(s.model.layers, -1);
  node_members_.assign(size_t(group_.node.back() + 1), {0, 0});
  for (int member = group_.size() - 1; member >= 0; --member) {
    auto& [first, count] = node_members_[size_t(group_.node[member])];
    first = member, ++count;
  }
  node_stamp_.assign(node_members_.size(), -1);
  previous_load_.resize(s.model.layers);
}

RoutedStep StepRouter::route(int step) {
  RoutedStep out;
  out.step = step;
  out.group = group_;
  out.router_cost = router_->cost();
  out.tokens_per_gpu = s_.plan.tokens_per_gpu();
  out.routed_micro_batches = routed_micro_batches_;
  migration_bytes_.assign(s_.plan.ep, 0);
  const int routed_layers = s_.sim.routed_layers.value_or(s_.model.moe_layers());
  // Routing every micro-batch of a large EP group takes minutes: say so after a second.
  const int sampled_layers = std::min(routed_layers, s_.model.moe_layers());
  ProgressLine progress("routing", double(sampled_layers) * routed_micro_batches_, 1.0);
  for (int layer = 0; layer < s_.model.layers; ++layer) {
    if (!s_.model.is_moe_layer(layer)) continue;
    if (int(out.layers.size()) >= routed_layers) {  // a sampled layer's loads, in turn
      LayerLoad reused = out.layers[out.layers.size() % routed_layers];
      reused.layer = layer;
      out.layers.push_back(std::move(reused));
      continue;
    }
    LayerLoad load;
    load.layer = layer;
    load.placement = placement_for(step, layer);
    load.expert_tokens.assign(s_.model.experts, 0);
    for (int mb = 0; mb < routed_micro_batches_; ++mb) {
      if (ProgressLine::enabled())  // the text is built only where a line can be drawn: on a terminal
        progress.update(double(out.layers.size()) * routed_micro_batches_ + mb,
                        "MoE layer " + std::to_string(out.layers.size() + 1) + "/" + std::to_string(sampled_layers) +
                            ", micro-batch " + std::to_string(mb + 1) + "/" + std::to_string(routed_micro_batches_) +
                            " (sim.routed_micro_batches samples fewer)");
      load.micro_batches.push_back(route_micro_batch(step, layer, mb, load.placement));
      for (int e = 0; e < s_.model.experts; ++e) load.expert_tokens[e] += load.micro_batches.back().expert_tokens[e];
      load.dropped += load.micro_batches.back().dropped;
    }
    load.max_over_mean = max_over_mean(load.expert_tokens);
    router_->end_step(layer, load.expert_tokens);
    previous_load_[layer] = load.expert_tokens;
    out.layers.push_back(std::move(load));
  }
  out.migration_bytes_max = *std::max_element(migration_bytes_.begin(), migration_bytes_.end());
  return out;
}

// Planned before the first step from a statistics sample, then again every replan_every
// steps from the loads of the step before.
const Placement& StepRouter::placement_for(int step, int layer) {
  const bool due = planned_at_step_[layer] < 0 ||
                   (s_.sim.replan_every && step - planned_at_step_[layer] >= *s_.sim.replan_every);
  if (!due) return placements_[layer];
  std::optional<LayerStatistics> statistics;
  PlacementInput input;
  input.experts = s_.model.experts;
  input.ep = s_.plan.ep;
  input.ranks_per_node = std::max(1, std::min(s_.plan.ep, s_.cluster.gpus_per_node / s_.plan.etp));
  input.statistics = [&]() -> const LayerStatistics& {
    if (!statistics) statistics = layer_statistics(step, layer);
    return *statistics;
  };
  Placement planned = placement_strategies().find(s_.placement.name)->make(s_.placement.params, input);
  if (planned_at_step_[layer] >= 0) charge_migration(placements_[layer], planned);
  placements_[layer] = std::move(planned);
  planned_at_step_[layer] = step;
  return placements_[layer];
}

// A rank that newly hosts an expert receives its weights and optimizer state: BF16 weights,
// FP32 master weights and two FP32 Adam moments (14 bytes per parameter), its 1/etp shard.
void StepRouter::charge_migration(const Placement& before, const Placement& after) {
  constexpr double STATE_BYTES_PER_PARAM = 2 + 4 + 4 + 4;
  const double expert_bytes = s_.model.expert_params() * STATE_BYTES_PER_PARAM / s_.plan.etp;
  for (int slot = 0; slot < after.slots(); ++slot) {
    const int e = after.expert_of_slot[slot], rank = after.rank_of_slot[slot];
    bool hosted = false;
    for (int old = before.first_slot[e]; old < before.first_slot[e + 1]; ++old) hosted |= before.rank_of_slot[old] == rank;
    if (!hosted) migration_bytes_[rank] += expert_bytes;
  }
}

// Items a GPU routes per micro-batch in a layer: its tokens, or for a token-mixing MoE layer
// the channel vectors of its samples.
int StepRouter::items_per_gpu(int layer) const {
  return int(std::lround(s_.plan.tokens_per_gpu() * s_.model.expert_shape(layer).items_per_token));
}

// Expert loads and co-activations: from the previous step when there is one, else from
// routing one micro-batch of this layer that the step does not use (step index -1).
LayerStatistics StepRouter::layer_statistics(int step, int layer) {
  const int experts = s_.model.experts;
  LayerStatistics stats;
  stats.expert_load.assign(experts, 0);
  stats.coactivation.assign(size_t(experts) * experts, 0);
  const int sample_step = step > 0 ? step - 1 : -1;
  for (int src = 0; src < group_.size(); ++src) {
    router_->route(*scores_, {layer, 0, group_.gpu[src], sample_step}, items_per_gpu(layer), routing_);
    for (int item = 0; item < routing_.items(); ++item)
      for (int i = routing_.first[item]; i < routing_.first[item + 1]; ++i) {
        stats.expert_load[routing_.expert[i]] += 1;
        for (int j = routing_.first[item]; j < routing_.first[item + 1]; ++j)
          if (j != i) stats.coactivation[size_t(routing_.expert[i]) * experts + routing_.expert[j]] += 1;
      }
  }
  if (step > 0 && !previous_load_[layer].empty())
    for (int e = 0; e < experts; ++e) stats.expert_load[e] = double(previous_load_[layer][e]);
  return stats;
}

MicroBatchLoad StepRouter::route_micro_batch(int step, int layer, int micro_batch, const Placement& placement) {
  const EpGroupLayout& g = group_;
  MicroBatchLoad load;
  load.expert_tokens.assign(s_.model.experts, 0);
  load.slot_rows.assign(placement.slots(), 0);
  load.row_fraction = router_->cost().row_fraction;
  for (auto* v : {&load.send_intra, &load.send_inter, &load.recv_intra, &load.recv_inter}) v->assign(g.size(), 0);
  load.leaf_up.assign(g.leaves.size(), 0);
  load.leaf_down.assign(g.leaves.size(), 0);
  load.pair_copies.assign(size_t(g.size()) * g.size(), 0);
  for (int src = 0; src < g.size(); ++src) {
    router_->route(*scores_, {layer, micro_batch, g.gpu[src], step}, items_per_gpu(layer), routing_);
    for (int e = 0; e < s_.model.experts; ++e) load.expert_tokens[e] += routing_.expert_tokens[e];
    load.requested += routing_.requested;
    load.routed += routing_.routed;
    load.dropped += routing_.dropped;
    load.unrouted_tokens += routing_.unrouted_tokens;
    if (routing_.padded_capacity > 0) {
      load.padded = true;
      count_padded_copies(src, routing_.padded_capacity, placement, load);
    } else {
      count_copies(src, routing_, placement, load);
    }
  }
  summarize(load, placement);
  return load;
}

void StepRouter::summarize(MicroBatchLoad& load, const Placement& placement) const {
  const EpGroupLayout& g = group_;
  for (double c : load.send_intra) load.intra_copies += c;
  for (double c : load.send_inter) load.inter_copies += c;
  const RouterCost cost = router_->cost();
  const double tile = cost.pad_rows_to > 0 ? cost.pad_rows_to : s_.cluster.gemm_tile_rows;
  load.rank_rows.assign(g.ep, 0);
  load.rank_padded_rows.assign(g.ep, 0);
  for (int slot = 0; slot < placement.slots(); ++slot) {
    const int rank = placement.rank_of_slot[slot];
    load.rank_rows[rank] += load.slot_rows[slot] * load.row_fraction;
    load.rank_padded_rows[rank] += std::ceil(load.slot_rows[slot] / tile) * tile * load.row_fraction;
  }
  load.most_rank_rows = *std::max_element(load.rank_rows.begin(), load.rank_rows.end());
  load.mean_rank_rows = std::accumulate(load.rank_rows.begin(), load.rank_rows.end(), 0.0) / g.ep;
  load.to_experts = port_peaks(load, g, topology_, false);
  load.to_owners = port_peaks(load, g, topology_, true);
}

// One copy per (item, destination EP rank), to each of that rank's etp shards. An expert
// with replicas hands its rows from each source to its replicas in turn.
void StepRouter::count_copies(int src, const GroupRouting& routing, const Placement& placement, MicroBatchLoad& load) {
  const EpGroupLayout& g = group_;
  stamp_.assign(g.ep, -1);  // stamp_[rank] == item: item already sent to rank
  node_stamp_.assign(node_stamp_.size(), -1);  // node_stamp_[node] == item: item already crossed to node
  next_replica_.assign(placement.experts(), 0);
  const bool per_expert = s_.plan.dispatch_copies == "per_expert";
  const bool per_node = s_.plan.dispatch_copies == "per_node";
  for (int item = 0; item < routing.items(); ++item) {
    for (int i = routing.first[item]; i < routing.first[item + 1]; ++i) {
      const int e = routing.expert[i];
      const int replicas = placement.replicas(e);
      const int slot = placement.first_slot[e] + (replicas > 1 ? next_replica_[e]++ % replicas : 0);
      ++load.slot_rows[slot];
      const int rank = placement.rank_of_slot[slot];
      if (!per_expert && stamp_[rank] == item) continue;
      stamp_[rank] = item;
      for (int shard = 0; shard < g.etp; ++shard) {
        const int dst = rank * g.etp + shard;
        if (per_node) {
          send_through_node(src, dst, item, load);
        } else {
          add_copies(src, dst, 1, load);
        }
      }
    }
  }
}

// ParallelPlan::dispatch_copies "per_node": an item bound for another node crosses the NIC once
// per (item, node), to the group member on the source's rail there (the same place in its
// node), which forwards it over NVLink to the node's other members that take it.
void StepRouter::send_through_node(int src, int dst, int item, MicroBatchLoad& load) {
  const EpGroupLayout& g = group_;
  const int node = g.node[dst];
  if (g.node[src] == node) return add_copies(src, dst, 1, load);
  const auto [first, count] = node_members_[size_t(node)];
  const int place = src - node_members_[size_t(g.node[src])].first;  // the source's place in its node
  const int relay = first + std::min(place, count - 1);
  if (node_stamp_[size_t(node)] != item) {
    node_stamp_[size_t(node)] = item;
    add_copies(src, relay, 1, load);
  }
  if (dst != relay) add_copies(relay, dst, 1, load);
}

// Padded to capacity, a source sends every expert exactly `capacity` rows (its accepted ones
// and padding), one row per expert (no per-rank sharing: the rows are the expert's input),
// spread evenly over the expert's replicas.
void StepRouter::count_padded_copies(int src, long capacity, const Placement& placement, MicroBatchLoad& load) {
  const EpGroupLayout& g = group_;
  for (int e = 0; e < placement.experts(); ++e) {
    const int replicas = placement.replicas(e);
    for (int r = 0; r < replicas; ++r) {
      const long rows = capacity / replicas + (r < capacity % replicas ? 1 : 0);
      const int slot = placement.first_slot[e] + r;
      load.slot_rows[slot] += int(rows);
      const int rank = placement.rank_of_slot[slot];
      for (int shard = 0; shard < g.etp; ++shard) add_copies(src, rank * g.etp + shard, rows, load);
    }
  }
}

void StepRouter::add_copies(int src, int dst, long n, MicroBatchLoad& load) const {
  const EpGroupLayout& g = group_;
  if (src == dst) {
    load.local_copies += n;
    return;
  }
  const double copies = double(n);
  load.pair_copies[size_t(src) * g.size() + dst] += float(copies);
  if (g.node[src] == g.node[dst]) {
    load.send_intra[src] += copies;
    load.recv_intra[dst] += copies;
  } else {
    load.send_inter[src] += copies;
    load.recv_inter[dst] += copies;
    if (g.leaf[src] != g.leaf[dst]) {
      load.leaf_up[g.leaf[src]] += copies;
      load.leaf_down[g.leaf[dst]] += copies;
    }
  }
}

RoutedStep route_step(const Scenario& scenario, const Topology& topology) {
  return StepRouter(scenario, topology).route(0);
}

}  // namespace moesim
