// Expert choice (Zhou et al. 2022): the experts choose. Each token's gate values are the
// softmax of its logits over the experts; each expert then takes the C tokens of the group
// with the highest gate value for it, C = capacity_factor * tokens / experts (capacity_factor
// is the mean number of experts per token). Every expert gets exactly C rows; a token may get
// several experts or none.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "models/routing/router.hpp"

namespace moesim {

namespace {

class ExpertChoiceRouter final : public RouterPolicy {
 public:
  ExpertChoiceRouter(const Params& params, const RouterSetup& setup)
      : capacity_factor_(params.number("capacity_factor")), setup_(setup) {}

  void route(const ScoreSource& scores, const ScoreContext& ctx, int tokens, GroupRouting& out) override {
    const int experts = setup_.experts;
    scores.all_logits(ctx, tokens, logits_);
    softmax_rows(tokens, experts);
    const int capacity = std::min(tokens, int(std::ceil(capacity_factor_ * tokens / experts)));
    std::vector<std::vector<int32_t>> experts_of_token(tokens);
    std::vector<int> order(tokens);
    for (int e = 0; e < experts; ++e) {
      std::iota(order.begin(), order.end(), 0);
      const auto gate = [&](int t) { return logits_[size_t(t) * experts + e]; };
      std::partial_sort(order.begin(), order.begin() + capacity, order.end(),
                        [&](int a, int b) { return gate(a) != gate(b) ? gate(a) > gate(b) : a < b; });
      for (int i = 0; i < capacity; ++i) experts_of_token[order[i]].push_back(e);
    }
    out.reset(experts);
    for (int t = 0; t < tokens; ++t) {
      for (int e : experts_of_token[t]) out.accept(e);
      if (experts_of_token[t].empty()) ++out.unrouted_tokens;
      out.end_item();
    }
    out.requested = out.routed;  // experts fill exactly: nothing asked for is refused
  }

 private:
  void softmax_rows(int tokens, int experts) {
    for (int t = 0; t < tokens; ++t) {
      float* row = &logits_[size_t(t) * experts];
      const float top = *std::max_element(row, row + experts);
      double total = 0;
      for (int e = 0; e < experts; ++e) total += (row[e] = std::exp(row[e] - top));
      for (int e = 0; e < experts; ++e) row[e] = float(row[e] / total);
    }
  }

  double capacity_factor_;
  RouterSetup setup_;
  std::vector<float> logits_;
};

}  // namespace

std::unique_ptr<RouterPolicy> make_expert_choice_router(const Params& params, const RouterSetup& setup) {
  return std::make_unique<ExpertChoiceRouter>(params, setup);
}

std::vector<ParamSpec> expert_choice_params() {
  return {{"capacity_factor", ParamKind::NUMBER, 2.0,
           "mean experts per token: each expert takes capacity_factor * tokens / experts tokens", 0.0}};
}

}  // namespace moesim
