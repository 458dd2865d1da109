// Device/node-limited routing (DeepSeek-V2 and V3): experts are split into `groups` equal,
// contiguous groups (one per node under contiguous placement); a token first picks the
// `max_groups` groups with the highest sum of their top-2 expert affinities, then its top-k
// experts inside those groups, so it reaches at most `max_groups` nodes. Affinities are the
// sigmoid of the logits (DeepSeek-V3).
#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include "hardware/input_error.hpp"
#include "models/routing/capacity.hpp"

namespace moesim {

namespace {

class NodeLimitedRouter final : public RouterPolicy {
 public:
  NodeLimitedRouter(const Params& params, const RouterSetup& setup)
      : rule_(capacity_rule(params)), setup_(setup) {
    const auto groups = params.optional_number("groups");
    groups_ = groups ? int(*groups) : setup.ep_nodes;
    max_groups_ = int(params.number("max_groups"));
    if (setup.experts % groups_ != 0)
      throw InputError("router.groups = " + std::to_string(groups_) + " does not divide the model's " +
                       std::to_string(setup.experts) + " experts");
    max_groups_ = std::min(max_groups_, groups_);
    const int per_group = setup.experts / groups_;
    if (per_group * max_groups_ < setup.top_k)
      throw InputError("router.max_groups = " + std::to_string(max_groups_) + " groups of " + std::to_string(per_group) +
                       " experts cannot hold top_k = " + std::to_string(setup.top_k) + " experts");
  }

  void route(const ScoreSource& scores, const ScoreContext& ctx, int tokens, GroupRouting& out) override {
    const int experts = setup_.experts, k = setup_.top_k, per_group = experts / groups_;
    scores.all_logits(ctx, tokens, logits_);
    choices_.tokens = tokens;
    choices_.top_k = k;
    choices_.expert.resize(size_t(tokens) * k);
    choices_.score.resize(size_t(tokens) * k);
    std::vector<double> group_score(groups_);
    std::vector<int> group_order(groups_), candidates;
    for (int t = 0; t < tokens; ++t) {
      float* affinity = &logits_[size_t(t) * experts];
      for (int e = 0; e < experts; ++e) affinity[e] = float(1 / (1 + std::exp(-double(affinity[e]))));
      for (int g = 0; g < groups_; ++g) group_score[g] = top_two_sum(affinity + g * per_group, per_group);
      std::iota(group_order.begin(), group_order.end(), 0);
      std::partial_sort(group_order.begin(), group_order.begin() + max_groups_, group_order.end(), [&](int a, int b) {
        return group_score[a] != group_score[b] ? group_score[a] > group_score[b] : a < b;
      });
      candidates.clear();
      for (int i = 0; i < max_groups_; ++i)
        for (int e = group_order[i] * per_group; e < (group_order[i] + 1) * per_group; ++e) candidates.push_back(e);
      std::partial_sort(candidates.begin(), candidates.begin() + k, candidates.end(), [&](int a, int b) {
        return affinity[a] != affinity[b] ? affinity[a] > affinity[b] : a < b;
      });
      for (int c = 0; c < k; ++c) {
        choices_.expert[size_t(t) * k + c] = candidates[c];
        choices_.score[size_t(t) * k + c] = affinity[candidates[c]];
      }
    }
    accept_with_capacity(choices_, rule_, experts, out);
  }

 private:
  static double top_two_sum(const float* a, int n) {
    float first = -INFINITY, second = -INFINITY;
    for (int i = 0; i < n; ++i) {
      if (a[i] > first) second = first, first = a[i];
      else if (a[i] > second) second = a[i];
    }
    return first + (n > 1 ? second : 0);
  }

  CapacityRule rule_;
  RouterSetup setup_;
  int groups_ = 1;
  int max_groups_ = 1;
  std::vector<float> logits_;
  TokenChoices choices_;
};

}  // namespace

std::unique_ptr<RouterPolicy> make_node_limited_router(const Params& params, const RouterSetup& setup) {
  return std::make_unique<NodeLimitedRouter>(params, setup);
}

std::vector<ParamSpec> node_limited_params() {
  auto params = capacity_params(std::nullopt);
  params.push_back({"groups", ParamKind::OPTIONAL_INTEGER, std::monostate(),
                    "expert groups (contiguous ids); null = the nodes the EP group spans", std::nullopt, 1.0});
  params.push_back({"max_groups", ParamKind::INTEGER, 4.0, "groups (nodes) a token may reach (DeepSeek-V3: 4)",
                    std::nullopt, 1.0});
  return params;
}

}  // namespace moesim
