// Token-choice top-k with an expert capacity (Switch Transformer top-1, GShard top-2). GShard
// sends a token to its second expert only with probability 2 * g2 / (g1 + g2) (g: the gate
// values of its two choices), so that tokens with a clear favourite mostly stay with it;
// `second_expert: "random"` does that for every choice after the first.
#include <cmath>

#include "models/random.hpp"
#include "models/routing/capacity.hpp"

namespace moesim {

namespace {

class TopKRouter final : public RouterPolicy {
 public:
  TopKRouter(const Params& params, const RouterSetup& setup)
      : rule_(capacity_rule(params)),
        random_second_(params.text("second_expert") == "random"),
        seed_(uint64_t(params.number("seed"))),
        setup_(setup) {}

  void route(const ScoreSource& scores, const ScoreContext& ctx, int tokens, GroupRouting& out) override {
    scores.top_choices(ctx, tokens, setup_.top_k, rule_.needs_scores() || random_second_, choices_);
    if (random_second_) drop_second_choices(ctx);
    accept_with_capacity(choices_, rule_, setup_.experts, out);
  }

 private:
  // Gate values are the softmax of the logits; their ratio needs only the chosen logits.
  void drop_second_choices(const ScoreContext& ctx) {
    Rng rng({seed_, 11, uint64_t(ctx.layer), uint64_t(ctx.micro_batch), uint64_t(ctx.source_gpu), uint64_t(ctx.step)});
    const int k = choices_.top_k;
    for (int t = 0; t < choices_.tokens; ++t) {
      const float* s = &choices_.score[size_t(t) * k];
      double total = 0;
      for (int c = 0; c < k; ++c) total += std::exp(double(s[c]) - s[0]);
      for (int c = 1; c < k; ++c) {
        const double gate = std::exp(double(s[c]) - s[0]) / total;
        if (rng.uniform() >= 2 * gate) choices_.expert[size_t(t) * k + c] = -1;
      }
    }
  }

  CapacityRule rule_;
  bool random_second_;
  uint64_t seed_;
  RouterSetup setup_;
  TokenChoices choices_;
};

}  // namespace

std::unique_ptr<RouterPolicy> make_topk_router(const Params& params, const RouterSetup& setup) {
  return std::make_unique<TopKRouter>(params, setup);
}

std::vector<ParamSpec> topk_params() {
  auto params = capacity_params(1.25);
  params.push_back({"second_expert", ParamKind::CHOICE, std::string("always"),
                    "always: every choice is sent; random: choices after the first are sent with probability "
                    "2*gate/(sum of the token's gates) (GShard)",
                    std::nullopt, std::nullopt, std::nullopt, {"always", "random"}});
  params.push_back({"seed", ParamKind::INTEGER, 0.0, "random seed of the second-expert draw", std::nullopt, 0.0});
  return params;
}

}  // namespace moesim
