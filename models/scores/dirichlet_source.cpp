// Synthetic popularity: each layer draws p ~ Dirichlet(alpha) over its experts. Small alpha
// makes a few experts popular.
#include <cmath>

#include "models/random.hpp"
#include "models/scores/popularity_source.hpp"

namespace moesim {

std::unique_ptr<ScoreSource> make_dirichlet_source(const Params& params, const ModelSpec& model) {
  const double alpha = params.number("alpha");
  const uint64_t seed = uint64_t(params.number("seed"));
  std::vector<std::vector<double>> log_p;
  for (int layer = 0; layer < model.layers; ++layer) {
    Rng rng({seed, 1, uint64_t(layer)});
    std::vector<double> gamma(model.experts);
    double sum = 0;
    for (auto& g : gamma) sum += (g = rng.gamma(alpha));
    std::vector<double> layer_log_p(model.experts);
    for (int e = 0; e < model.experts; ++e) layer_log_p[e] = std::log(gamma[e] / sum);  // -inf on underflow
    log_p.push_back(std::move(layer_log_p));
  }
  return make_popularity_source(popularity_settings(params), std::move(log_p));
}

std::vector<ParamSpec> dirichlet_source_params() {
  std::vector<ParamSpec> params = {
      {"alpha", ParamKind::NUMBER, 1.0, "Dirichlet concentration of expert popularity (per layer); larger = more even", 0.0}};
  for (auto& p : popularity_params()) params.push_back(p);
  return params;
}

}  // namespace moesim
