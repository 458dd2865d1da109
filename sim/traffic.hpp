#pragma once
#include <vector>

#include "hardware/topology.hpp"
#include "models/placement/placement.hpp"
#include "models/routing/router.hpp"
#include "models/scores/score_source.hpp"
#include "sim/scenario.hpp"

namespace moesim {

// The expert-parallel group whose routing is simulated token by token: expert-data-parallel
// replica 0 of pipeline stage 0. Member i is EP rank i / etp, expert shard i % etp. The other
// groups see tokens from the same distribution and are taken to behave alike.
struct EpGroupLayout {
  int ep = 1;
  int etp = 1;
  std::vector<int> gpu;   // global GPU id of each member
  std::vector<int> node;  // node of each member
  std::vector<int> leaf;  // index into `leaves` of each member's leaf switch (-1: single node)
  std::vector<int> leaves;
  std::vector<int> members_of_leaf;  // group members under each of `leaves`
  int size() const { return int(gpu.size()); }
};

// The busiest ports of one all-to-all of an EP group, from which its time for any message
// size follows: each GPU port moves its copies at the port's bandwidth (NVLink and NIC in
// parallel), each leaf's spine uplinks carry the copies that leave the leaf; the busiest
// port or uplink sets the time, plus the latency of the slowest link class used.
struct PortPeaks {
  double nvlink_copies = 0;      // most copies through one GPU's NVLink port, one direction
  double nic_copies = 0;         // most copies through one GPU's NIC, one direction
  double uplink_s_per_byte = 0;  // busiest leaf's spine uplinks: seconds per byte of a copy
  double time_s(double bytes_per_copy, const ClusterSpec& cluster) const;
};

// One MoE layer, one micro-batch, one EP group. A "copy" is one item (a token, or what the
// router sends instead) sent to one GPU: an item goes once to each distinct EP rank that
// accepted it (to every shard of that rank), or once per accepted expert where the plan's
// dispatch sends per expert (ParallelPlan::dispatch_copies).
struct MicroBatchLoad {
  std::vector<int> expert_tokens;  // accepted assignments per expert
  std::vector<int> slot_rows;      // accepted assignments per placement slot (expert replica)
  std::vector<double> send_intra, send_inter, recv_intra, recv_inter;  // copies per member
  std::vector<double> leaf_up, leaf_down;  // copies crossing the spine, per leaf of the group
  long requested = 0;      // assignments the router asked for (tokens * top_k for token choice)
  long routed = 0;         // accepted assignments
  long dropped = 0;        // rejected ones; routed + dropped = requested
  long unrouted_tokens = 0;  // tokens that reached no expert
  long local_copies = 0;   // copies whose destination is the source GPU (no transfer)
  double row_fraction = 1; // bytes and expert FLOPs of one copy relative to a token
  bool padded = false;     // every expert's rows padded to its capacity: shapes fixed by the plan
  std::vector<float> pair_copies;  // [src * members + dst]: copies from member src to member dst
  // Derived once from the counts above (see summarize):
  double intra_copies = 0, inter_copies = 0;   // sums over the group
  std::vector<double> rank_rows;               // token rows each EP rank's experts receive
  std::vector<double> rank_padded_rows;        // the same, each expert padded to the GEMM tile
  double most_rank_rows = 0, mean_rank_rows = 0;  // over the ranks
  PortPeaks to_experts;                        // dispatch direction
  PortPeaks to_owners;                         // combine direction
};

struct LayerLoad {
  int layer = 0;
  Placement placement;
  std::vector<MicroBatchLoad> micro_batches;
  std::vector<long> expert_tokens;  // summed over the routed micro-batches
  long dropped = 0;
  double max_over_mean = 0;         // of expert_tokens
};

// The routing of one training step, summarised per MoE layer and routed micro-batch.
struct RoutedStep {
  int step = 0;
  EpGroupLayout group;
  RouterCost router_cost;
  // Expert weights and optimizer state that re-planned placements move this step: the most
  // bytes any EP rank receives (0 when nothing was re-planned).
  double migration_bytes_max = 0;
  int tokens_per_gpu = 0;
  int routed_micro_batches = 0;
  std::vector<LayerLoad> layers;  // MoE layers only, in order
};

EpGroupLayout ep_group_layout(const ParallelPlan& plan, const Topology& topology);
PortPeaks port_peaks(const MicroBatchLoad& load, const EpGroupLayout& group, const Topology& topology, bool reverse);
// Time of one all-to-all; `reverse` swaps senders and receivers (combine).
double all_to_all_s(const MicroBatchLoad& load, const EpGroupLayout& group, const Topology& topology,
                    double bytes_per_copy, bool reverse);
// Routes steps in order, keeping what lasts between them: a stateful router's state and the
// placement (re-planned every `sim.replan_every` steps from the step before).
class StepRouter {
 public:
  StepRouter(const Scenario& scenario, const Topology& topology);
  RoutedStep route(int step);

 private:
  MicroBatchLoad route_micro_batch(int step, int layer, int micro_batch, const Placement& placement);
  const Placement& placement_for(int step, int layer);
  void charge_migration(const Placement& before, const Placement& after);
  int items_per_gpu(int layer) const;
  LayerStatistics layer_statistics(int step, int layer);
  void count_copies(int src, const GroupRouting& routing, const Placement& placement, MicroBatchLoad& load);
  void count_padded_copies(int src, long capacity, const Placement& placement, MicroBatchLoad& load);
  void send_through_node(int src, int dst, int item, MicroBatchLoad& load);
  void add_copies(int src, int dst, long n, MicroBatchLoad& load) const;
  void summarize(MicroBatchLoad& load, const Placement& placement) const;

  const Scenario& s_;
  const Topology& topology_;
  EpGroupLayout group_;
  std::unique_ptr<RouterPolicy> router_;
  std::unique_ptr<ScoreSource> scores_;
  int routed_micro_batches_ = 0;
  std::vector<Placement> placements_;  // per layer (empty until planned)
  std::vector<int> planned_at_step_;   // per layer
  std::vector<std::vector<long>> previous_load_;  // per layer: expert rows of the last step routed
  GroupRouting routing_;
  std::vector<int> stamp_, next_replica_;
  std::vector<int> node_stamp_;                     // per node of the cluster (dispatch_copies "per_node")
  std::vector<std::pair<int, int>> node_members_;  // per node: first group member on it, members on it
  std::vector<double> migration_bytes_;  // per EP rank, this step
};

// One step (step 0) of a scenario.
RoutedStep route_step(const Scenario& scenario, const Topology& topology);

}  // namespace moesim
