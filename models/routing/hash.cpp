// Hash layers (Roller et al. 2021): a token's experts are a fixed function of its vocabulary
// id, learned nothing. The load then follows how often ids occur: token ids are drawn from a
// Zipf law over the vocabulary (frequency of the r-th id ~ 1 / r^s), the same ids at every
// layer of a micro-batch, and each layer hashes them with its own salt. Choice c of a token
// uses hash c; a collision moves to the next expert so a token's k experts are distinct.
#include <algorithm>

#include "models/random.hpp"
#include "models/routing/capacity.hpp"

namespace moesim {

namespace {

uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  return x ^ (x >> 33);
}

class HashRouter final : public RouterPolicy {
 public:
  HashRouter(const Params& params, const RouterSetup& setup)
      : rule_(capacity_rule(params)), seed_(uint64_t(params.number("seed"))), setup_(setup) {
    const int vocab = int(params.number("vocab"));
    const double s = params.number("zipf_exponent");
    cumulative_.resize(vocab);
    double total = 0;
    for (int r = 0; r < vocab; ++r) cumulative_[r] = (total += std::pow(r + 1.0, -s));
    for (double& c : cumulative_) c /= total;
  }

  void route(const ScoreSource&, const ScoreContext& ctx, int tokens, GroupRouting& out) override {
    const int k = setup_.top_k, experts = setup_.experts;
    Rng ids({seed_, 12, uint64_t(ctx.micro_batch), uint64_t(ctx.source_gpu), uint64_t(ctx.step)});
    choices_.tokens = tokens;
    choices_.top_k = k;
    choices_.expert.resize(size_t(tokens) * k);
    choices_.score.assign(size_t(tokens) * k, 0.0f);
    for (int t = 0; t < tokens; ++t) {
      const uint64_t id = token_id(ids);
      int32_t* chosen = &choices_.expert[size_t(t) * k];
      for (int c = 0; c < k; ++c) {
        int e = int(mix(id * 0x9E3779B97F4A7C15ull ^ mix(uint64_t(ctx.layer) * 131 + c + 1)) % experts);
        while (std::find(chosen, chosen + c, e) != chosen + c) e = (e + 1) % experts;
        chosen[c] = e;
      }
    }
    accept_with_capacity(choices_, rule_, experts, out);
  }

  uint64_t token_id(Rng& rng) const {
    return uint64_t(std::lower_bound(cumulative_.begin(), cumulative_.end(), rng.uniform()) - cumulative_.begin());
  }

 private:
  CapacityRule rule_;
  uint64_t seed_;
  RouterSetup setup_;
  std::vector<double> cumulative_;  // Zipf CDF over vocabulary ranks
  TokenChoices choices_;
};

}  // namespace

std::unique_ptr<RouterPolicy> make_hash_router(const Params& params, const RouterSetup& setup) {
  return std::make_unique<HashRouter>(params, setup);
}

std::vector<ParamSpec> hash_params() {
  auto params = capacity_params(std::nullopt);
  params.push_back({"vocab", ParamKind::INTEGER, 50257.0, "vocabulary size the token ids are drawn from", std::nullopt, 1.0});
  params.push_back({"zipf_exponent", ParamKind::NUMBER, 1.0,
                    "token id frequencies follow rank^-s (natural text: s near 1); 0 = uniform ids", std::nullopt, 0.0});
  params.push_back({"seed", ParamKind::INTEGER, 0.0, "random seed of the token ids", std::nullopt, 0.0});
  return params;
}

}  // namespace moesim
