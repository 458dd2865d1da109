// BASE layers (Lewis et al. 2021): routing as a balanced linear assignment. Every expert takes
// exactly tokens / experts tokens of the group (the remainder, if any, one each to the first
// experts) and the assignment maximises the summed logits. Solved, as in the paper, with
// an auction (Bertsekas): an unassigned token bids for its best expert at prices that rise
// as experts fill; the final assignment is within tokens * epsilon of the optimum.
#include <algorithm>
#include <cmath>
#include <queue>
#include <stdexcept>

#include "models/routing/router.hpp"

namespace moesim {

namespace {

class BalancedAssignmentRouter final : public RouterPolicy {
 public:
  BalancedAssignmentRouter(const Params& params, const RouterSetup& setup)
      : relative_epsilon_(params.number("epsilon")), setup_(setup) {}

  void route(const ScoreSource& scores, const ScoreContext& ctx, int tokens, GroupRouting& out) override {
    const int experts = setup_.experts;
    scores.all_logits(ctx, tokens, logits_);
    const std::vector<int> expert_of_token = auction(tokens, experts);
    out.reset(experts);
    for (int t = 0; t < tokens; ++t) {
      out.accept(expert_of_token[t]);
      out.end_item();
    }
    out.requested = out.routed;
  }

 private:
  using Bid = std::pair<double, int>;  // (price offered, token)
  using Holders = std::priority_queue<Bid, std::vector<Bid>, std::greater<Bid>>;  // lowest bid on top

  std::vector<int> auction(int tokens, int experts) const {
    const auto [low, high] = std::minmax_element(logits_.begin(), logits_.end());
    const double epsilon = std::max(1e-9, relative_epsilon_ * (*high - *low));
    std::vector<int> capacity(experts, tokens / experts);
    for (int e = 0; e < tokens % experts; ++e) ++capacity[e];
    std::vector<double> price(experts, 0);
    std::vector<Holders> holders(experts);
    std::vector<int> unassigned(tokens);
    for (int t = 0; t < tokens; ++t) unassigned[t] = tokens - 1 - t;  // token 0 bids first
    const long max_bids = 1000L * tokens + 100000;
    for (long bids = 0; !unassigned.empty(); ++bids) {
      if (bids > max_bids) throw std::logic_error("balanced assignment: the auction did not settle");
      const int t = unassigned.back();
      unassigned.pop_back();
      const float* row = &logits_[size_t(t) * experts];
      int best = 0;
      double best_value = -INFINITY, second_value = -INFINITY;
      for (int e = 0; e < experts; ++e) {
        const double value = row[e] - price[e];
        if (value > best_value) second_value = best_value, best_value = value, best = e;
        else if (value > second_value) second_value = value;
      }
      const double gap = std::isfinite(second_value) ? best_value - second_value : 0;
      holders[best].push({price[best] + gap + epsilon, t});
      if (int(holders[best].size()) > capacity[best]) {
        unassigned.push_back(holders[best].top().second);
        holders[best].pop();
      }
      if (int(holders[best].size()) == capacity[best]) price[best] = holders[best].top().first;
    }
    std::vector<int> expert_of_token(tokens, -1);
    for (int e = 0; e < experts; ++e)
      for (Holders& h = holders[e]; !h.empty(); h.pop()) expert_of_token[h.top().second] = e;
    return expert_of_token;
  }

  double relative_epsilon_;
  RouterSetup setup_;
  std::vector<float> logits_;
};

}  // namespace

std::unique_ptr<RouterPolicy> make_base_router(const Params& params, const RouterSetup& setup) {
  return std::make_unique<BalancedAssignmentRouter>(params, setup);
}

std::vector<ParamSpec> base_params() {
  return {{"epsilon", ParamKind::NUMBER, 1e-3,
           "auction step as a fraction of the logits' range: smaller is closer to the optimal assignment, slower", 0.0}};
}

}  // namespace moesim
