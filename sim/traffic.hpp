#pragma once
#include <vector>

#include "hardware/topology.hpp"
#include "models/placement/placement.hpp"
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
  int size() const { return int(gpu.size()); }
};

// One MoE layer, one micro-batch, one EP group. A "copy" is one token sent to one GPU:
// a token goes once to each distinct EP rank that accepted it (to every shard of that rank).
struct MicroBatchLoad {
  std::vector<int> expert_tokens;  // accepted assignments per expert
  std::vector<double> send_intra, send_inter, recv_intra, recv_inter;  // copies per member
  std::vector<double> leaf_up, leaf_down;  // copies crossing the spine, per leaf of the group
  long routed = 0;         // accepted (token, choice) assignments
  long dropped = 0;        // rejected ones; routed + dropped = tokens * top_k
  long local_copies = 0;   // copies whose destination is the source GPU (no transfer)
};

struct LayerLoad {
  int layer = 0;
  std::vector<MicroBatchLoad> micro_batches;
};

// The routing of one training step, summarised per MoE layer and routed micro-batch.
struct RoutedStep {
  EpGroupLayout group;
  Placement placement;
  int tokens_per_gpu = 0;
  int routed_micro_batches = 0;
  std::vector<LayerLoad> layers;  // MoE layers only, in order
};

EpGroupLayout ep_group_layout(const ParallelPlan& plan, const Topology& topology);
RoutedStep route_step(const Scenario& scenario, const Topology& topology);

}  // namespace moesim
