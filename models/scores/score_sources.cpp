// The score-source registry: one line per source.
#include "models/scores/score_source.hpp"

namespace moesim {

std::unique_ptr<ScoreSource> make_dirichlet_source(const Params&, const ModelSpec&);
std::vector<ParamSpec> dirichlet_source_params();

const Registry<Component<ScoreSourceFactory>>& score_sources() {
  static const auto registry = [] {
    Registry<Component<ScoreSourceFactory>> r("score source");
    r.add("dirichlet", "per-layer Dirichlet(alpha) expert popularity plus per-token Gumbel noise",
          {dirichlet_source_params(), make_dirichlet_source});
    return r;
  }();
  return registry;
}

}  // namespace moesim
