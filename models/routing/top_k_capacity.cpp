// Token-choice top-k with an expert capacity (GShard, Switch Transformer). Each expert takes
// at most C = ceil(capacity_factor * tokens * top_k / experts) assignments from a capacity
// group; capacity_factor null means no limit (dropless). Which assignments win when an expert
// is full:
//   position: earlier tokens first, and every token's first choice before any second choice
//             (GShard's order);
//   probs:    per expert, the highest router scores first.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "models/routing/router.hpp"

namespace moesim {

namespace {

class TopKCapacityRouter final : public RouterPolicy {
 public:
  explicit TopKCapacityRouter(const Params& params)
      : capacity_factor_(params.optional_number("capacity_factor")), by_probs_(params.text("drop_order") == "probs") {}

  bool uses_scores() const override { return by_probs_ && capacity_factor_.has_value(); }

  void route(const TokenChoices& choices, int experts, GroupRouting& out) const override {
    const size_t assignments = size_t(choices.tokens) * choices.top_k;
    out.accepted.assign(assignments, 0);
    out.expert_tokens.assign(experts, 0);
    const long capacity = capacity_factor_ ? long(std::ceil(*capacity_factor_ * assignments / experts))
                                           : long(assignments);
    if (by_probs_) {
      accept_by_score(choices, capacity, out);
    } else {
      accept_by_position(choices, capacity, out);
    }
    out.routed = std::accumulate(out.expert_tokens.begin(), out.expert_tokens.end(), 0L);
    out.dropped = long(assignments) - out.routed;
  }

 private:
  static void accept_by_position(const TokenChoices& ch, long capacity, GroupRouting& out) {
    for (int c = 0; c < ch.top_k; ++c) {
      for (int t = 0; t < ch.tokens; ++t) {
        const size_t i = size_t(t) * ch.top_k + c;
        int& load = out.expert_tokens[ch.expert[i]];
        if (load < capacity) {
          ++load;
          out.accepted[i] = 1;
        }
      }
    }
  }

  static void accept_by_score(const TokenChoices& ch, long capacity, GroupRouting& out) {
    // Bucket assignment indices by expert (counting sort keeps position order inside a bucket),
    // then keep each bucket's `capacity` best scores; ties go to the earlier assignment.
    const int experts = int(out.expert_tokens.size());
    std::vector<size_t> start(experts + 1, 0);
    for (int32_t e : ch.expert) ++start[e + 1];
    std::partial_sum(start.begin(), start.end(), start.begin());
    std::vector<size_t> order(ch.expert.size());
    std::vector<size_t> fill(start.begin(), start.end() - 1);
    for (size_t i = 0; i < ch.expert.size(); ++i) order[fill[ch.expert[i]]++] = i;
    for (int e = 0; e < experts; ++e) {
      auto first = order.begin() + start[e], last = order.begin() + start[e + 1];
      const long n = std::min<long>(capacity, last - first);
      std::partial_sort(first, first + n, last, [&](size_t a, size_t b) {
        return ch.score[a] != ch.score[b] ? ch.score[a] > ch.score[b] : a < b;
      });
      for (auto it = first; it != first + n; ++it) out.accepted[*it] = 1;
      out.expert_tokens[e] = int(n);
    }
  }

  std::optional<double> capacity_factor_;
  bool by_probs_;
};

}  // namespace

std::unique_ptr<RouterPolicy> make_top_k_capacity_router(const Params& params) {
  return std::make_unique<TopKCapacityRouter>(params);
}

std::vector<ParamSpec> top_k_capacity_params() {
  return {
      {"capacity_factor", ParamKind::OPTIONAL_NUMBER, 1.25,
       "expert capacity as a multiple of the even share tokens*top_k/experts; null = dropless", 0.0},
      {"drop_order", ParamKind::CHOICE, std::string("position"),
       "which assignments a full expert keeps: position (earlier tokens, first choices first) or probs "
       "(highest scores)",
       std::nullopt, std::nullopt, std::nullopt, {"position", "probs"}},
  };
}

}  // namespace moesim
