// Auxiliary-loss-free load balancing (DeepSeek-V3, Wang et al. 2024): each expert of each
// layer carries a bias that is added to its logit when the top-k is chosen, never when the
// gates are computed. After every step an overloaded expert's bias drops by update_rate and
// an underloaded one's rises by it, so selection drifts toward the idle experts over steps.
// (DeepSeek adds the bias to sigmoid affinities; here it is added to the logits, which is the
// same ranking shift for affinities far from saturation.)
#include <map>

#include "models/routing/capacity.hpp"

namespace moesim {

namespace {

class LossFreeBiasRouter final : public RouterPolicy {
 public:
  LossFreeBiasRouter(const Params& params, const RouterSetup& setup)
      : rule_(capacity_rule(params)), update_rate_(params.number("update_rate")), setup_(setup) {}

  void route(const ScoreSource& scores, const ScoreContext& ctx, int tokens, GroupRouting& out) override {
    scores.top_choices(ctx, tokens, setup_.top_k, rule_.needs_scores(), choices_, &bias_of(ctx.layer));
    accept_with_capacity(choices_, rule_, setup_.experts, out);
  }

  void end_step(int layer, const std::vector<long>& expert_tokens) override {
    std::vector<double>& bias = bias_of(layer);
    double mean = 0;
    for (long n : expert_tokens) mean += double(n) / expert_tokens.size();
    for (size_t e = 0; e < bias.size(); ++e)
      bias[e] += expert_tokens[e] > mean ? -update_rate_ : expert_tokens[e] < mean ? update_rate_ : 0;
  }

 private:
  std::vector<double>& bias_of(int layer) {
    auto [it, inserted] = bias_.try_emplace(layer);
    if (inserted) it->second.assign(setup_.experts, 0.0);
    return it->second;
  }

  CapacityRule rule_;
  double update_rate_;
  RouterSetup setup_;
  std::map<int, std::vector<double>> bias_;  // per MoE layer
  TokenChoices choices_;
};

}  // namespace

std::unique_ptr<RouterPolicy> make_loss_free_bias_router(const Params& params, const RouterSetup& setup) {
  return std::make_unique<LossFreeBiasRouter>(params, setup);
}

std::vector<ParamSpec> loss_free_bias_params() {
  auto params = capacity_params(std::nullopt);
  params.push_back({"update_rate", ParamKind::NUMBER, 0.001,
                    "bias step per training step, in logit units (DeepSeek-V3: 0.001)", std::nullopt, 0.0});
  return params;
}

}  // namespace moesim
