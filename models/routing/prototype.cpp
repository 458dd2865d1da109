// Expert prototyping (M6-T, Yang et al. 2021): the experts are split into `prototypes` equal
// groups and each token takes the top-1 expert of every group, so k = prototypes experts per
// token with one from each group (instead of the k best overall), then the usual capacity.
#include <algorithm>

#include "hardware/input_error.hpp"
#include "models/routing/capacity.hpp"

namespace moesim {

namespace {

class PrototypeRouter final : public RouterPolicy {
 public:
  PrototypeRouter(const Params& params, const RouterSetup& setup) : rule_(capacity_rule(params)), setup_(setup) {
    const auto prototypes = params.optional_number("prototypes");
    prototypes_ = prototypes ? int(*prototypes) : setup.top_k;
    if (setup.experts % prototypes_ != 0)
      throw InputError("router.prototypes = " + std::to_string(prototypes_) + " does not divide the model's " +
                       std::to_string(setup.experts) + " experts");
  }

  void route(const ScoreSource& scores, const ScoreContext& ctx, int tokens, GroupRouting& out) override {
    const int experts = setup_.experts, per_group = experts / prototypes_;
    scores.all_logits(ctx, tokens, logits_);
    choices_.tokens = tokens;
    choices_.top_k = prototypes_;
    choices_.expert.resize(size_t(tokens) * prototypes_);
    choices_.score.resize(size_t(tokens) * prototypes_);
    for (int t = 0; t < tokens; ++t)
      for (int g = 0; g < prototypes_; ++g) {
        const float* first = &logits_[size_t(t) * experts + g * per_group];
        const int best = int(std::max_element(first, first + per_group) - first);
        choices_.expert[size_t(t) * prototypes_ + g] = g * per_group + best;
        choices_.score[size_t(t) * prototypes_ + g] = first[best];
      }
    accept_with_capacity(choices_, rule_, experts, out);
  }

 private:
  CapacityRule rule_;
  RouterSetup setup_;
  int prototypes_ = 1;
  std::vector<float> logits_;
  TokenChoices choices_;
};

}  // namespace

std::unique_ptr<RouterPolicy> make_prototype_router(const Params& params, const RouterSetup& setup) {
  return std::make_unique<PrototypeRouter>(params, setup);
}

std::vector<ParamSpec> prototype_params() {
  auto params = capacity_params(1.25);
  params.push_back({"prototypes", ParamKind::OPTIONAL_INTEGER, std::monostate(),
                    "expert groups, top-1 in each; null = the model's top_k", std::nullopt, 1.0});
  return params;
}

}  // namespace moesim
