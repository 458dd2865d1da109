// Synthetic router scores: each layer draws an expert popularity p ~ Dirichlet(alpha), and
// token t's logit for expert e is log p_e + noise * g_te with g standard Gumbel. Small alpha
// makes a few experts popular; small noise makes tokens follow the popularity closely.
//
// The top-k of Gumbel-perturbed logits is a draw without replacement from weights
// w_e = p_e^(1/noise) (the Gumbel-top-k trick), and the chosen logits follow the "top-down"
// construction (max = log W + Gumbel; each next value is a Gumbel truncated below the
// previous one). So a token costs O(k), not O(experts): 2048 GPUs x 256 experts stays cheap.
#include <algorithm>
#include <cmath>

#include "models/random.hpp"
#include "models/scores/score_source.hpp"

namespace moesim {

namespace {

// Walker/Vose alias table: O(1) draws from a fixed categorical distribution.
class AliasTable {
 public:
  explicit AliasTable(const std::vector<double>& weights) : prob_(weights.size()), alias_(weights.size()) {
    const size_t n = weights.size();
    double total = 0;
    for (double w : weights) total += w;
    std::vector<double> scaled(n);
    std::vector<int> small, large;
    for (size_t i = 0; i < n; ++i) {
      scaled[i] = weights[i] * n / total;
      (scaled[i] < 1 ? small : large).push_back(int(i));
    }
    while (!small.empty() && !large.empty()) {
      const int s = small.back(), l = large.back();
      small.pop_back();
      prob_[s] = scaled[s];
      alias_[s] = l;
      scaled[l] -= 1 - scaled[s];
      if (scaled[l] < 1) {
        large.pop_back();
        small.push_back(l);
      }
    }
    for (int i : large) prob_[i] = 1, alias_[i] = i;
    for (int i : small) prob_[i] = 1, alias_[i] = i;
  }
  int draw(Rng& rng) const {
    const double u = rng.uniform() * prob_.size();
    const size_t i = std::min(size_t(u), prob_.size() - 1);
    return (u - i) < prob_[i] ? int(i) : alias_[i];
  }

 private:
  std::vector<double> prob_;
  std::vector<int> alias_;
};

struct LayerPopularity {
  std::vector<double> weight;  // w_e = p_e^(1/noise)
  double total_weight = 0;
  AliasTable alias;
};

class DirichletSource final : public ScoreSource {
 public:
  DirichletSource(const Params& params, const ModelSpec& model)
      : alpha_(params.number("alpha")), noise_(params.number("noise")), seed_(uint64_t(params.number("seed"))) {
    for (int layer = 0; layer < model.layers; ++layer) layers_.push_back(make_layer(layer, model.experts));
  }

  void top_choices(const ScoreContext& ctx, int tokens, int top_k, bool with_scores, TokenChoices& out) const override {
    const LayerPopularity& layer = layers_.at(ctx.layer);
    out.tokens = tokens;
    out.top_k = top_k;
    out.expert.resize(size_t(tokens) * top_k);
    out.score.resize(with_scores ? size_t(tokens) * top_k : 0);
    // Separate streams for choices and scores: skipping the scores leaves the choices as
    // they are (the top-down values do not influence which experts are drawn).
    Rng choice_rng({seed_, 2, uint64_t(ctx.layer), uint64_t(ctx.micro_batch), uint64_t(ctx.source_gpu)});
    Rng score_rng({seed_, 3, uint64_t(ctx.layer), uint64_t(ctx.micro_batch), uint64_t(ctx.source_gpu)});
    for (int t = 0; t < tokens; ++t)
      draw_token(layer, choice_rng, with_scores ? &score_rng : nullptr, top_k, &out.expert[size_t(t) * top_k],
                 with_scores ? &out.score[size_t(t) * top_k] : nullptr);
  }

 private:
  LayerPopularity make_layer(int layer, int experts) const {
    Rng rng({seed_, 1, uint64_t(layer)});
    std::vector<double> gamma(experts);
    double sum = 0;
    for (auto& g : gamma) sum += (g = rng.gamma(alpha_));
    // Work in log space: with small alpha some p_e underflow, and p^(1/noise) more so.
    std::vector<double> weight(experts);
    double max_log = -INFINITY;
    for (int e = 0; e < experts; ++e) max_log = std::max(max_log, std::log(gamma[e] / sum) / noise_);
    double total = 0;
    for (int e = 0; e < experts; ++e) {
      const double log_w = std::log(gamma[e] / sum) / noise_ - max_log;
      weight[e] = std::exp(log_w);  // largest weight is 1; zero where it underflows
      total += weight[e];
    }
    return LayerPopularity{weight, total, AliasTable(weight)};
  }

  // One token: k distinct experts without replacement, and their logits (in units of noise).
  void draw_token(const LayerPopularity& layer, Rng& choice_rng, Rng* score_rng, int top_k, int32_t* expert,
                  float* score) const {
    double remaining = layer.total_weight;
    double previous = INFINITY;
    for (int c = 0; c < top_k; ++c) {
      const int e = draw_distinct(layer, choice_rng, expert, c, remaining);
      expert[c] = e;
      if (score_rng) {
        // Top-down Gumbel: the c-th largest perturbed logit is Gumbel(log W_remaining)
        // truncated below the previous one.
        const double g = std::log(remaining) + score_rng->gumbel();
        const double value = c == 0 ? g : -std::log(std::exp(-previous) + std::exp(-g));
        score[c] = float(noise_ * value);
        previous = value;
      }
      remaining = std::max(remaining - layer.weight[e], 1e-300);
    }
  }

  static bool taken(const int32_t* chosen, int count, int e) {
    return std::find(chosen, chosen + count, e) != chosen + count;
  }

  // Rejection on the alias table while the chosen experts hold little of the mass; an exact
  // linear draw over the remaining experts once rejections get frequent.
  int draw_distinct(const LayerPopularity& layer, Rng& rng, const int32_t* chosen, int count, double remaining) const {
    constexpr int MAX_REJECTIONS = 16;
    for (int attempt = 0; attempt < MAX_REJECTIONS; ++attempt) {
      const int e = layer.alias.draw(rng);
      if (!taken(chosen, count, e)) return e;
    }
    double u = rng.uniform() * remaining;
    int last_free = -1;
    for (int e = 0; e < int(layer.weight.size()); ++e) {
      if (taken(chosen, count, e)) continue;
      last_free = e;
      if ((u -= layer.weight[e]) <= 0 && layer.weight[e] > 0) return e;
    }
    return last_free;  // rounding at the end of the scan, or only zero-weight experts remain
  }

  double alpha_;
  double noise_;
  uint64_t seed_;
  std::vector<LayerPopularity> layers_;
};

}  // namespace

std::unique_ptr<ScoreSource> make_dirichlet_source(const Params& params, const ModelSpec& model) {
  return std::make_unique<DirichletSource>(params, model);
}

std::vector<ParamSpec> dirichlet_source_params() {
  return {
      {"alpha", ParamKind::NUMBER, 1.0, "Dirichlet concentration of expert popularity (per layer); larger = more even", 0.0},
      {"noise", ParamKind::NUMBER, 1.0, "scale of per-token Gumbel noise on the logits; larger = closer to uniform", 0.0},
      {"seed", ParamKind::INTEGER, 0.0, "random seed; the same seed gives the same routing", std::nullopt, 0.0},
  };
}

}  // namespace moesim
