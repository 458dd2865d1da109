// Popularity fitted to a real model's measured expert counts (measured_counts.cpp: OLMoE and
// Mixtral, two layers, five text domains). The fit finds per-expert weights whose top-k draw
// without replacement includes each expert as often as measured: Rosen's approximation for
// successive sampling (inclusion = 1 - exp(-w * tau)) gives a start, w = -ln(1 - share), and a
// few Monte Carlo corrections (w *= measured / simulated share) make it exact up to sampling
// noise. Model layers take the counts of the nearest measured layer.
#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include "hardware/input_error.hpp"
#include "models/scores/measured_counts.hpp"
#include "models/scores/popularity_source.hpp"

namespace moesim {

namespace {

constexpr int FIT_TOKENS = 1 << 16;
constexpr int FIT_ROUNDS = 6;

// Inclusion share of each expert in a top-k draw from log weights, by simulation.
std::vector<double> simulated_share(const std::vector<double>& log_w, int top_k, uint64_t seed) {
  auto source = make_popularity_source(PopularitySettings{1, 0, 0, 0, 1, seed}, {log_w});
  TokenChoices choices;
  source->top_choices({0, 0, 0, 0}, FIT_TOKENS, top_k, false, choices);
  std::vector<double> share(log_w.size(), 0);
  for (int32_t e : choices.expert) share[e] += 1.0 / FIT_TOKENS;
  return share;
}

std::vector<double> fit_log_weights(const MeasuredCounts& m) {
  double total = 0;
  for (double c : m.counts) total += c;
  const double tokens = total / m.top_k;
  std::vector<double> target(m.counts.size()), log_w(m.counts.size());
  for (size_t e = 0; e < m.counts.size(); ++e) {
    target[e] = std::min(m.counts[e] / tokens, 0.999);
    log_w[e] = target[e] > 0 ? std::log(-std::log1p(-target[e])) : -INFINITY;
  }
  for (int round = 0; round < FIT_ROUNDS; ++round) {
    const std::vector<double> share = simulated_share(log_w, m.top_k, 1000 + round);
    for (size_t e = 0; e < log_w.size(); ++e)
      if (target[e] > 0 && share[e] > 0) log_w[e] += std::log(target[e] / share[e]);
  }
  return log_w;
}

// The fitted log weights of every measured layer of (model, domain), cached: fitting takes
// about 0.1 s per layer.
const std::map<int, std::vector<double>>& fitted_layers(const std::string& model, const std::string& domain) {
  static std::map<std::string, std::map<int, std::vector<double>>> cache;
  auto [it, inserted] = cache.try_emplace(model + "/" + domain);
  if (inserted)
    for (const MeasuredCounts& m : measured_counts())
      if (m.model == model && m.domain == domain) it->second[m.layer] = fit_log_weights(m);
  return it->second;
}

}  // namespace

std::unique_ptr<ScoreSource> make_measured_source(const Params& params, const ModelSpec& model) {
  const std::string& fit = params.text("fit");
  const std::string& domain = params.text("domain");
  const auto& layers = fitted_layers(fit, domain);
  const MeasuredCounts* sample = nullptr;
  for (const MeasuredCounts& m : measured_counts())
    if (m.model == fit) sample = &m;
  if (int(sample->counts.size()) != model.experts || sample->top_k != model.top_k)
    throw InputError("scores.fit = \"" + fit + "\" was measured with " + std::to_string(sample->counts.size()) +
                     " experts, top-" + std::to_string(sample->top_k) + "; the model has " +
                     std::to_string(model.experts) + " experts, top-" + std::to_string(model.top_k));
  std::vector<std::vector<double>> log_p;
  for (int layer = 0; layer < model.layers; ++layer) {
    // Nearest measured layer, scaled to this model's depth (measured at 0 and 15 of 16 or 32).
    int best = layers.begin()->first;
    for (const auto& [measured, weights] : layers)
      if (std::abs(measured - layer) < std::abs(best - layer)) best = measured;
    log_p.push_back(layers.at(best));
  }
  return make_popularity_source(popularity_settings(params), std::move(log_p));  // noise 1: the fitted weights
}

std::vector<ParamSpec> measured_source_params() {
  std::vector<ParamSpec> params = {
      {"fit", ParamKind::CHOICE, std::string("olmoe-1b-7b"), "model whose measured expert counts are reproduced",
       std::nullopt, std::nullopt, std::nullopt, {"olmoe-1b-7b", "mixtral-8x7b"}},
      {"domain", ParamKind::CHOICE, std::string("c4"), "text domain the counts were measured on", std::nullopt,
       std::nullopt, std::nullopt, {"arxiv", "book", "c4", "github", "wikipedia"}},
  };
  for (auto& p : popularity_params())
    if (p.name != "noise") params.push_back(p);
  return params;
}

}  // namespace moesim
