// Multi-head MoE (Wu et al. 2024): each token is split into `heads` sub-tokens of width
// d_model / heads, and each sub-token is routed on its own (top-k with capacity). More,
// smaller rows travel: the all-to-all and expert FLOPs per row are 1/heads of a token's.
#include "models/routing/capacity.hpp"

namespace moesim {

namespace {

class MultiHeadRouter final : public RouterPolicy {
 public:
  MultiHeadRouter(const Params& params, const RouterSetup& setup)
      : rule_(capacity_rule(params)), heads_(int(params.number("heads"))), setup_(setup) {}

  void route(const ScoreSource& scores, const ScoreContext& ctx, int tokens, GroupRouting& out) override {
    scores.top_choices(ctx, tokens * heads_, setup_.top_k, rule_.needs_scores(), choices_);
    accept_with_capacity(choices_, rule_, setup_.experts, out);
    // Items are sub-tokens; a token is unrouted when none of its sub-tokens got an expert.
    out.unrouted_tokens = 0;
    for (int t = 0; t < tokens; ++t)
      if (out.first[(t + 1) * heads_] == out.first[t * heads_]) ++out.unrouted_tokens;
  }

  RouterCost cost() const override { return RouterCost{.row_fraction = 1.0 / heads_}; }

 private:
  CapacityRule rule_;
  int heads_;
  RouterSetup setup_;
  TokenChoices choices_;
};

}  // namespace

std::unique_ptr<RouterPolicy> make_multi_head_router(const Params& params, const RouterSetup& setup) {
  return std::make_unique<MultiHeadRouter>(params, setup);
}

std::vector<ParamSpec> multi_head_params() {
  auto params = capacity_params(1.25);
  params.push_back({"heads", ParamKind::INTEGER, 4.0, "sub-tokens per token, each of width d_model / heads", std::nullopt,
                    1.0});
  return params;
}

}  // namespace moesim
