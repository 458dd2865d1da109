#include "models/routing/capacity.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "hardware/input_error.hpp"

namespace moesim {

std::vector<ParamSpec> capacity_params(std::optional<double> default_capacity_factor) {
  return {
      {"capacity_factor", ParamKind::OPTIONAL_NUMBER,
       default_capacity_factor ? ParamValue(*default_capacity_factor) : ParamValue(std::monostate()),
       "expert capacity as a multiple of the even share tokens*top_k/experts; null = no limit (dropless)", 0.0},
      {"drop_order", ParamKind::CHOICE, std::string("position"),
       "which assignments a full expert keeps: position (earlier tokens, first choices first), probs (highest "
       "scores) or batch_priority (tokens by top-1 score, V-MoE)",
       std::nullopt, std::nullopt, std::nullopt, {"position", "probs", "batch_priority"}},
      {"pad_to_capacity", ParamKind::BOOLEAN, false,
       "fill every expert to its capacity with padding rows (GShard, Switch, Megatron's "
       "--moe-pad-expert-input-to-capacity): the experts compute and the dispatch sends capacity rows per expert "
       "from each GPU, whatever was accepted; needs capacity_factor"},
  };
}

CapacityRule capacity_rule(const Params& params) {
  CapacityRule rule;
  rule.capacity_factor = params.optional_number("capacity_factor");
  const std::string& order = params.text("drop_order");
  rule.order = order == "probs" ? DropOrder::PROBS : order == "batch_priority" ? DropOrder::BATCH_PRIORITY : DropOrder::POSITION;
  rule.pad_to_capacity = params.boolean("pad_to_capacity");
  if (rule.pad_to_capacity && !rule.capacity_factor)
    throw InputError("router.pad_to_capacity needs router.capacity_factor: without a capacity there is nothing to pad to");
  return rule;
}

namespace {

// Greedy acceptance in the given token order, first choices of all tokens before second ones.
void accept_in_token_order(const TokenChoices& ch, const std::vector<int>& token_order, long capacity,
                           std::vector<int>& load, std::vector<uint8_t>& accepted) {
  for (int c = 0; c < ch.top_k; ++c)
    for (int t : token_order) {
      const size_t i = size_t(t) * ch.top_k + c;
      const int e = ch.expert[i];
      if (e >= 0 && load[e] < capacity) ++load[e], accepted[i] = 1;
    }
}

// Per expert, the `capacity` best-scored assignments; ties go to the earlier assignment.
void accept_by_score(const TokenChoices& ch, long capacity, int experts, std::vector<uint8_t>& accepted) {
  std::vector<size_t> start(experts + 1, 0);
  for (int32_t e : ch.expert)
    if (e >= 0) ++start[e + 1];
  std::partial_sum(start.begin(), start.end(), start.begin());
  std::vector<size_t> order(start.back());
  std::vector<size_t> fill(start.begin(), start.end() - 1);
  for (size_t i = 0; i < ch.expert.size(); ++i)
    if (ch.expert[i] >= 0) order[fill[ch.expert[i]]++] = i;
  for (int e = 0; e < experts; ++e) {
    auto first = order.begin() + start[e], last = order.begin() + start[e + 1];
    const long n = std::min<long>(capacity, last - first);
    if (n < last - first)  // only a full expert chooses; which n win is all that matters
      std::nth_element(first, first + n, last, [&](size_t a, size_t b) {
        return ch.score[a] != ch.score[b] ? ch.score[a] > ch.score[b] : a < b;
      });
    for (auto it = first; it != first + n; ++it) accepted[*it] = 1;
  }
}

}  // namespace

void accept_with_capacity(const TokenChoices& ch, const CapacityRule& rule, int experts, GroupRouting& out) {
  const size_t assignments = size_t(ch.tokens) * ch.top_k;
  std::vector<uint8_t> accepted(assignments, 0);
  if (!rule.capacity_factor) {
    for (size_t i = 0; i < assignments; ++i) accepted[i] = ch.expert[i] >= 0;
  } else {
    const long capacity = long(std::ceil(*rule.capacity_factor * double(assignments) / experts));
    if (rule.order == DropOrder::PROBS) {
      accept_by_score(ch, capacity, experts, accepted);
    } else {
      std::vector<int> token_order(ch.tokens);
      std::iota(token_order.begin(), token_order.end(), 0);
      if (rule.order == DropOrder::BATCH_PRIORITY)
        std::stable_sort(token_order.begin(), token_order.end(),
                         [&](int a, int b) { return ch.score[size_t(a) * ch.top_k] > ch.score[size_t(b) * ch.top_k]; });
      std::vector<int> load(experts, 0);
      accept_in_token_order(ch, token_order, capacity, load, accepted);
    }
  }
  out.reset(experts);
  for (int t = 0; t < ch.tokens; ++t) {
    const int before = int(out.expert.size());
    for (int c = 0; c < ch.top_k; ++c) {
      const size_t i = size_t(t) * ch.top_k + c;
      if (ch.expert[i] < 0) continue;
      ++out.requested;
      if (accepted[i]) out.accept(ch.expert[i]);
    }
    if (int(out.expert.size()) == before) ++out.unrouted_tokens;
    out.end_item();
  }
  out.dropped = out.requested - out.routed;
  if (rule.pad_to_capacity) out.padded_capacity = long(std::ceil(*rule.capacity_factor * double(assignments) / experts));
}

}  // namespace moesim
