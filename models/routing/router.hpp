#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "hardware/registry.hpp"
#include "models/params.hpp"
#include "models/scores/score_source.hpp"

namespace moesim {

// What a router decided for one capacity group (one GPU's tokens of one micro-batch).
struct GroupRouting {
  std::vector<uint8_t> accepted;   // [token * top_k + choice]: 1 if the expert takes it
  std::vector<int> expert_tokens;  // accepted assignments per expert
  long routed = 0;                 // accepted assignments
  long dropped = 0;                // rejected assignments; routed + dropped = tokens * top_k
};

class RouterPolicy {
 public:
  virtual ~RouterPolicy() = default;
  virtual void route(const TokenChoices& choices, int experts, GroupRouting& out) const = 0;
  // Whether route() reads TokenChoices::score (else the score source skips drawing them).
  virtual bool uses_scores() const = 0;
};

using RouterFactory = std::function<std::unique_ptr<RouterPolicy>(const Params&)>;
const Registry<Component<RouterFactory>>& router_policies();

}  // namespace moesim
