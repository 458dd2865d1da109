// The score-source registry: one line per source.
#include "models/scores/score_source.hpp"

#include <algorithm>
#include <numeric>

namespace moesim {

void ScoreSource::group_top_choices(const ScoreContext& context, int tokens, int groups, int per_group,
                                    TokenChoices& out) const {
  std::vector<float> logits;
  all_logits(context, tokens, logits);
  const int experts = int(logits.size() / std::max(tokens, 1)), size = experts / groups;
  out.tokens = tokens;
  out.top_k = groups * per_group;
  out.expert.resize(size_t(tokens) * out.top_k);
  out.score.resize(size_t(tokens) * out.top_k);
  std::vector<int> order(size);
  for (int t = 0; t < tokens; ++t)
    for (int g = 0; g < groups; ++g) {
      const float* row = &logits[size_t(t) * experts + g * size];
      std::iota(order.begin(), order.end(), 0);
      std::partial_sort(order.begin(), order.begin() + per_group, order.end(),
                        [&](int a, int b) { return row[a] != row[b] ? row[a] > row[b] : a < b; });
      for (int i = 0; i < per_group; ++i) {
        const size_t at = (size_t(t) * groups + g) * per_group + i;
        out.expert[at] = g * size + order[i];
        out.score[at] = row[order[i]];
      }
    }
}

std::unique_ptr<ScoreSource> make_dirichlet_source(const Params&, const ModelSpec&);
std::vector<ParamSpec> dirichlet_source_params();
std::unique_ptr<ScoreSource> make_measured_source(const Params&, const ModelSpec&);
std::vector<ParamSpec> measured_source_params();
std::unique_ptr<ScoreSource> make_trace_source(const Params&, const ModelSpec&);
std::vector<ParamSpec> trace_source_params();

const Registry<Component<ScoreSourceFactory>>& score_sources() {
  static const auto registry = [] {
    Registry<Component<ScoreSourceFactory>> r("score source");
    r.add("dirichlet", "per-layer Dirichlet(alpha) expert popularity plus per-token Gumbel noise",
          {dirichlet_source_params(), make_dirichlet_source});
    r.add("measured", "expert popularity fitted to a real model's measured counts (OLMoE, Mixtral; five domains)",
          {measured_source_params(), make_measured_source});
    r.add("trace", "replay of a recorded routing trace (JSON Lines, exp_ids[token][layer][k]), streamed",
          {trace_source_params(), make_trace_source});
    return r;
  }();
  return registry;
}

}  // namespace moesim
