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
    const int k = setup_.top_k, per_group = setup_.experts / groups_;
    // A token takes at most k experts from one group, so each group's best k suffice.
    const int candidates_per_group = std::min(k, per_group);
    scores.group_top_choices(ctx, tokens, groups_, candidates_per_group, candidates_);
    choices_.tokens = tokens;
    choices_.top_k = k;
    choices_.expert.resize(size_t(tokens) * k);
    choices_.score.resize(size_t(tokens) * k);
    std::vector<double> group_score(groups_);
    std::vector<int> group_order(groups_), pool;
    for (int t = 0; t < tokens; ++t) {
      const size_t row = size_t(t) * groups_ * candidates_per_group;
      float* affinity = &candidates_.score[row];
      for (int i = 0; i < groups_ * candidates_per_group; ++i) affinity[i] = float(1 / (1 + std::exp(-double(affinity[i]))));
      for (int g = 0; g < groups_; ++g) {
        const float* best = affinity + g * candidates_per_group;
        group_score[g] = best[0] + (candidates_per_group > 1 ? best[1] : 0);
      }
      std::iota(group_order.begin(), group_order.end(), 0);
      std::partial_sort(group_order.begin(), group_order.begin() + max_groups_, group_order.end(), [&](int a, int b) {
        return group_score[a] != group_score[b] ? group_score[a] > group_score[b] : a < b;
      });
      pool.clear();
      for (int i = 0; i < max_groups_; ++i)
        for (int j = 0; j < candidates_per_group; ++j) pool.push_back(group_order[i] * candidates_per_group + j);
      std::partial_sort(pool.begin(), pool.begin() + k, pool.end(), [&](int a, int b) {
        return affinity[a] != affinity[b] ? affinity[a] > affinity[b] : a < b;
      });
      for (int c = 0; c < k; ++c) {
        choices_.expert[size_t(t) * k + c] = candidates_.expert[row + pool[c]];
        choices_.score[size_t(t) * k + c] = affinity[pool[c]];
      }
    }
    accept_with_capacity(choices_, rule_, setup_.experts, out);
  }

 private:
  CapacityRule rule_;
  RouterSetup setup_;
  int groups_ = 1;
  int max_groups_ = 1;
  TokenChoices candidates_, choices_;
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
