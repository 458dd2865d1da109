// Per-image routing (Mobile V-MoE, Daxberger et al. 2023): one routing decision per image,
// which all of its patches follow, so an image's patches travel together to the same top-k
// experts. The capacity is counted in images. Images are `seq_len` consecutive tokens.
#include "hardware/input_error.hpp"
#include "models/routing/capacity.hpp"

namespace moesim {

namespace {

class PerImageRouter final : public RouterPolicy {
 public:
  PerImageRouter(const Params& params, const RouterSetup& setup) : rule_(capacity_rule(params)), setup_(setup) {
    if (setup.seq_len <= 0 || setup.tokens % setup.seq_len != 0)
      throw InputError("per_image routing needs whole images in a capacity group: " + std::to_string(setup.tokens) +
                       " tokens per GPU and micro-batch are not a multiple of seq_len " + std::to_string(setup.seq_len));
  }

  void route(const ScoreSource& scores, const ScoreContext& ctx, int tokens, GroupRouting& out) override {
    const int patches = setup_.seq_len, images = tokens / patches;
    scores.top_choices(ctx, images, setup_.top_k, rule_.needs_scores(), choices_);
    accept_with_capacity(choices_, rule_, setup_.experts, per_image_);
    out.reset(setup_.experts);
    for (int image = 0; image < images; ++image)
      for (int p = 0; p < patches; ++p) {
        for (int i = per_image_.first[image]; i < per_image_.first[image + 1]; ++i) out.accept(per_image_.expert[i]);
        out.end_item();
      }
    out.requested = per_image_.requested * patches;
    out.dropped = per_image_.dropped * patches;
    out.unrouted_tokens = per_image_.unrouted_tokens * patches;
  }

 private:
  CapacityRule rule_;
  RouterSetup setup_;
  TokenChoices choices_;
  GroupRouting per_image_;
};

}  // namespace

std::unique_ptr<RouterPolicy> make_per_image_router(const Params& params, const RouterSetup& setup) {
  return std::make_unique<PerImageRouter>(params, setup);
}

std::vector<ParamSpec> per_image_params() { return capacity_params(1.0); }

}  // namespace moesim
