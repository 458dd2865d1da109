// Router scores from a per-layer expert popularity p: token t's logit for expert e is
// log p_e + noise * g_te with g standard Gumbel. Where p comes from is the caller's choice
// (a Dirichlet draw, or weights fitted to measured counts); small noise makes tokens follow
// the popularity closely.
//
// The top-k of Gumbel-perturbed logits is a draw without replacement from weights
// w_e = p_e^(1/noise) (the Gumbel-top-k trick), and the chosen logits follow the "top-down"
// construction (max = log W + Gumbel; each next value is a Gumbel truncated below the
// previous one). So a token costs O(k), not O(experts): 2048 GPUs x 256 experts stays cheap.
#include <algorithm>
#include <cmath>

#include "models/random.hpp"
#include "models/scores/popularity_source.hpp"

namespace moesim {

namespace {

// Walker/Vose alias table: O(1) draws from a fixed categorical distribution.
class AliasTable {
 public:
  AliasTable() = default;
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
  std::vector<double> weight;  // w_e = p_e^(1/noise), the largest 1
  double total_weight = 0;
  AliasTable alias;
};

LayerPopularity popularity_of(std::vector<double> weight) {
  double total = 0;
  for (double w : weight) total += w;
  AliasTable alias(weight);
  return LayerPopularity{std::move(weight), total, std::move(alias)};
}

class PopularitySource final : public ScoreSource {
 public:
  PopularitySource(const PopularitySettings& settings, std::vector<std::vector<double>> log_p)
      : noise_(settings.noise),
        drift_(settings.drift),
        coselection_(settings.coselection),
        persistence_(settings.persistence),
        seed_(settings.seed),
        experts_(int(log_p.at(0).size())),
        log_p_(std::move(log_p)) {
    layers_at_step_ = 0;
    make_clusters(std::min(experts_, settings.clusters));
    for (const auto& layer : log_p_) layers_.push_back(popularity_of(weights(layer)));
  }

  void top_choices(const ScoreContext& ctx, int tokens, int top_k, bool with_scores, TokenChoices& out,
                   const std::vector<double>* logit_offset) const override {
    const LayerPopularity& base = layer_at(ctx.layer, ctx.step);
    LayerPopularity biased;
    if (logit_offset) biased = popularity_of(offset_weights(ctx.layer, ctx.step, *logit_offset));
    const LayerPopularity& layer = logit_offset ? biased : base;
    out.tokens = tokens;
    out.top_k = top_k;
    out.expert.resize(size_t(tokens) * top_k);
    out.score.resize(with_scores ? size_t(tokens) * top_k : 0);
    // Separate streams for choices and scores: skipping the scores leaves the choices as
    // they are (the top-down values do not influence which experts are drawn).
    Rng choice_rng(stream(2, ctx));
    Rng score_rng(stream(3, ctx));
    for (int t = 0; t < tokens; ++t) {
      int32_t* expert = &out.expert[size_t(t) * top_k];
      float* score = with_scores ? &out.score[size_t(t) * top_k] : nullptr;
      if (t > 0 && persistence_ > 0 && choice_rng.uniform() < persistence_) {
        // Within-sequence correlation: the token repeats its predecessor's choices.
        std::copy(expert - top_k, expert, expert);
        if (score) std::copy(score - top_k, score, score);
        continue;
      }
      draw_token(layer, choice_rng, with_scores ? &score_rng : nullptr, top_k, expert, score);
      if (score && logit_offset)
        for (int c = 0; c < top_k; ++c) score[c] -= float((*logit_offset)[expert[c]]);
    }
  }

  void all_logits(const ScoreContext& ctx, int tokens, std::vector<float>& out) const override {
    const std::vector<double> log_p = log_popularity(ctx.layer, ctx.step);
    out.resize(size_t(tokens) * experts_);
    Rng rng(stream(5, ctx));
    for (int t = 0; t < tokens; ++t)
      for (int e = 0; e < experts_; ++e)
        out[size_t(t) * experts_ + e] = float(std::max(log_p[e], -1e30) + noise_ * rng.gumbel());
  }

  // Exact under the same Gumbel model, without drawing every expert: inside a group the
  // top-down construction gives its best experts and their perturbed logits directly.
  void group_top_choices(const ScoreContext& ctx, int tokens, int groups, int per_group,
                         TokenChoices& out) const override {
    const LayerPopularity& layer = layer_at(ctx.layer, ctx.step);
    const int size = experts_ / groups;
    std::vector<LayerPopularity> group_tables;
    for (int g = 0; g < groups; ++g)
      group_tables.push_back(popularity_of(
          std::vector<double>(layer.weight.begin() + g * size, layer.weight.begin() + (g + 1) * size)));
    // Logits are noise * (log weight + max log p / noise), as all_logits gives them.
    const std::vector<double> log_p = log_popularity(ctx.layer, ctx.step);
    double shift = -INFINITY;
    for (double l : log_p) shift = std::max(shift, l);
    out.tokens = tokens;
    out.top_k = groups * per_group;
    out.expert.resize(size_t(tokens) * out.top_k);
    out.score.resize(size_t(tokens) * out.top_k);
    Rng choice_rng(stream(7, ctx)), score_rng(stream(8, ctx));
    for (int t = 0; t < tokens; ++t)
      for (int g = 0; g < groups; ++g) {
        const size_t at = (size_t(t) * groups + g) * per_group;
        int32_t* expert = &out.expert[at];
        float* score = &out.score[at];
        draw_token(group_tables[g], choice_rng, &score_rng, per_group, expert, score, false);
        for (int i = 0; i < per_group; ++i) {
          expert[i] += g * size;
          score[i] = float(score[i] + shift);
        }
      }
  }

 private:
  // Step 0 keeps the streams of a single-step run, so adding steps changes no earlier result.
  Rng stream(uint64_t purpose, const ScoreContext& ctx) const {
    if (ctx.step == 0) return Rng({seed_, purpose, uint64_t(ctx.layer), uint64_t(ctx.micro_batch), uint64_t(ctx.source_gpu)});
    return Rng({seed_, purpose, uint64_t(ctx.layer), uint64_t(ctx.micro_batch), uint64_t(ctx.source_gpu), uint64_t(ctx.step)});
  }

  // Popularity drifts as a random walk of log p: drift is the standard deviation per step.
  std::vector<double> log_popularity(int layer, int step) const {
    std::vector<double> log_p = log_p_.at(layer);
    if (drift_ > 0 && step > 0)
      for (int e = 0; e < experts_; ++e) {
        Rng walk({seed_, 4, uint64_t(layer), uint64_t(e)});
        for (int s = 0; s < step; ++s) log_p[e] += drift_ * walk.normal();
      }
    return log_p;
  }

  // Work in log space: with small alpha some p_e underflow, and p^(1/noise) more so.
  std::vector<double> weights(const std::vector<double>& log_p) const {
    double max_log = -INFINITY;
    for (double l : log_p) max_log = std::max(max_log, l / noise_);
    std::vector<double> weight(log_p.size());
    for (size_t e = 0; e < log_p.size(); ++e) weight[e] = std::exp(log_p[e] / noise_ - max_log);
    return weight;
  }

  std::vector<double> offset_weights(int layer, int step, const std::vector<double>& offset) const {
    std::vector<double> log_p = log_popularity(layer, step);
    for (int e = 0; e < experts_; ++e) log_p[e] += offset[e];
    return weights(log_p);
  }

  const LayerPopularity& layer_at(int layer, int step) const {
    if (drift_ <= 0) return layers_.at(layer);
    if (step != layers_at_step_) {  // steps are routed in order: keep one step's tables
      for (int l = 0; l < int(layers_.size()); ++l) layers_[l] = popularity_of(weights(log_popularity(l, step)));
      layers_at_step_ = step;
    }
    return layers_.at(layer);
  }

  // One token: k distinct experts without replacement, and their logits (in units of noise).
  void draw_token(const LayerPopularity& layer, Rng& choice_rng, Rng* score_rng, int top_k, int32_t* expert,
                  float* score, bool allow_coselection = true) const {
    double remaining = layer.total_weight;
    double previous = INFINITY;
    for (int c = 0; c < top_k; ++c) {
      int e = -1;
      if (allow_coselection && c > 0 && coselection_ > 0 && choice_rng.uniform() < coselection_)
        e = draw_from_cluster(layer, choice_rng, expert, c);
      if (e < 0) e = draw_distinct(layer, choice_rng, expert, c, remaining);
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

  // A free expert of the first choice's cluster, by weight; -1 if the cluster has none left.
  int draw_from_cluster(const LayerPopularity& layer, Rng& rng, const int32_t* chosen, int count) const {
    const std::vector<int>& members = cluster_members_[cluster_of_[chosen[0]]];
    double free_weight = 0;
    for (int e : members)
      if (!taken(chosen, count, e)) free_weight += layer.weight[e];
    if (free_weight <= 0) return -1;
    double u = rng.uniform() * free_weight;
    int last = -1;
    for (int e : members) {
      if (taken(chosen, count, e) || layer.weight[e] <= 0) continue;
      last = e;
      if ((u -= layer.weight[e]) <= 0) return e;
    }
    return last;
  }

  // Experts fall into `clusters` groups of a seeded random permutation (not contiguous ids,
  // so that no placement is favoured by accident).
  void make_clusters(int clusters) {
    std::vector<int> order(experts_);
    for (int e = 0; e < experts_; ++e) order[e] = e;
    Rng rng({seed_, 6});
    for (int i = experts_ - 1; i > 0; --i) std::swap(order[i], order[size_t(rng.next() % uint64_t(i + 1))]);
    cluster_of_.assign(experts_, 0);
    cluster_members_.assign(clusters, {});
    for (int i = 0; i < experts_; ++i) {
      cluster_of_[order[i]] = int(int64_t(i) * clusters / experts_);
      cluster_members_[cluster_of_[order[i]]].push_back(order[i]);
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

  double noise_;
  double drift_;
  double coselection_;
  double persistence_;
  uint64_t seed_;
  int experts_;
  std::vector<std::vector<double>> log_p_;  // per layer, at step 0 (natural log; -inf: never chosen)
  mutable std::vector<LayerPopularity> layers_;
  mutable int layers_at_step_;
  std::vector<int> cluster_of_;
  std::vector<std::vector<int>> cluster_members_;
};

}  // namespace

std::unique_ptr<ScoreSource> make_popularity_source(const PopularitySettings& settings,
                                                    std::vector<std::vector<double>> log_popularity) {
  return std::make_unique<PopularitySource>(settings, std::move(log_popularity));
}

PopularitySettings popularity_settings(const Params& params) {
  const double noise = params.values().count("noise") ? params.number("noise") : 1.0;
  return {noise,          params.number("drift"), params.number("coselection"), params.number("persistence"),
          int(params.number("clusters")), uint64_t(params.number("seed"))};
}

std::vector<ParamSpec> popularity_params() {
  return {
      {"noise", ParamKind::NUMBER, 1.0, "scale of per-token Gumbel noise on the logits; larger = closer to uniform", 0.0},
      {"drift", ParamKind::NUMBER, 0.0,
       "standard deviation per step of a random walk of each expert's log popularity (runs of several steps)", std::nullopt,
       0.0},
      {"coselection", ParamKind::NUMBER, 0.0,
       "probability that a token's 2nd..k-th choice comes from its first choice's expert cluster (experts chosen "
       "together, as real routers do)",
       std::nullopt, 0.0, 1.0},
      {"persistence", ParamKind::NUMBER, 0.0,
       "probability that a token repeats the previous token's experts (correlation within a sequence: "
       "consecutive tokens share experts, so loads are burstier per batch)",
       std::nullopt, 0.0, 1.0},
      {"clusters", ParamKind::INTEGER, 8.0, "expert clusters for coselection (a seeded random partition)", std::nullopt,
       1.0},
      {"seed", ParamKind::INTEGER, 0.0, "random seed; the same seed gives the same routing", std::nullopt, 0.0},
  };
}

}  // namespace moesim
