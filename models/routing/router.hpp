#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "hardware/registry.hpp"
#include "models/params.hpp"
#include "models/scores/score_source.hpp"

namespace moesim {

// What a router decided for one capacity group (one GPU's tokens of one micro-batch), as the
// rows each expert receives. An "item" is what travels: a token, or what the policy sends
// instead (a sub-token of multi-head MoE, a slot of Soft MoE). Item i's accepted experts are
// expert[first[i] .. first[i+1]); an item goes once to each EP rank that accepted it.
struct GroupRouting {
  std::vector<int32_t> first{0};
  std::vector<int32_t> expert;
  std::vector<int> expert_tokens;  // rows per expert (accepted assignments)
  long requested = 0;              // assignments the policy asked for (tokens x top_k for token choice)
  long routed = 0;                 // accepted; routed + dropped = requested
  long dropped = 0;
  long unrouted_tokens = 0;        // tokens that reached no expert (dropped entirely, or never chosen)
  long padded_capacity = 0;        // > 0: each expert is padded to this many rows (CapacityRule::pad_to_capacity)

  int items() const { return int(first.size()) - 1; }
  void reset(int experts) {
    first.assign(1, 0);
    expert.clear();
    expert_tokens.assign(experts, 0);
    requested = routed = dropped = unrouted_tokens = padded_capacity = 0;
  }
  void accept(int e) {
    expert.push_back(e);
    ++expert_tokens[e];
    ++routed;
  }
  void end_item() { first.push_back(int32_t(expert.size())); }
};

// What a router needs to know of the run it is built for.
struct RouterSetup {
  int experts = 0;
  int top_k = 0;
  int tokens = 0;    // per capacity group: one GPU's tokens of one micro-batch
  int seq_len = 0;   // tokens per sample (per-image routing: patches per image)
  int ep_nodes = 1;  // nodes the EP group spans (node-limited routing's default group count)
};

// How a policy changes the cost of the layer around the all-to-all.
struct RouterCost {
  double row_fraction = 1;  // bytes and expert FLOPs of one item relative to one token
  int gate_columns = 0;     // width of the router's logits GEMM; 0 = one column per expert
  int mixing_gemms = 0;     // extra GEMMs of that shape (Soft MoE's dispatch and combine weights)
  int pad_rows_to = 0;      // expert rows padded to this block (MegaBlocks); 0 = the GEMM tile
};

class RouterPolicy {
 public:
  virtual ~RouterPolicy() = default;
  // Routes `tokens` tokens of the capacity group `context`, asking `scores` for what it needs.
  virtual void route(const ScoreSource& scores, const ScoreContext& context, int tokens, GroupRouting& out) = 0;
  // Stateful policies learn from a finished step: accepted rows per expert of one layer.
  virtual void end_step(int /*layer*/, const std::vector<long>& /*expert_tokens*/) {}
  virtual RouterCost cost() const { return {}; }
};

using RouterFactory = std::function<std::unique_ptr<RouterPolicy>(const Params&, const RouterSetup&)>;
const Registry<Component<RouterFactory>>& router_policies();

}  // namespace moesim
