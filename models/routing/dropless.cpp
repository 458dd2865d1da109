// Dropless MoE (MegaBlocks, Gale et al. 2023): every token reaches its top-k experts; the
// expert computation is block-sparse, so each expert's rows are padded to the block size
// (128 in MegaBlocks) instead of being cut at a capacity.
#include "models/routing/capacity.hpp"

namespace moesim {

namespace {

class DroplessRouter final : public RouterPolicy {
 public:
  DroplessRouter(const Params& params, const RouterSetup& setup)
      : block_rows_(int(params.number("block_rows"))), setup_(setup) {}

  void route(const ScoreSource& scores, const ScoreContext& ctx, int tokens, GroupRouting& out) override {
    scores.top_choices(ctx, tokens, setup_.top_k, false, choices_);
    accept_with_capacity(choices_, CapacityRule{}, setup_.experts, out);
  }
  RouterCost cost() const override { return RouterCost{.pad_rows_to = block_rows_}; }

 private:
  int block_rows_;
  RouterSetup setup_;
  TokenChoices choices_;
};

}  // namespace

std::unique_ptr<RouterPolicy> make_dropless_router(const Params& params, const RouterSetup& setup) {
  return std::make_unique<DroplessRouter>(params, setup);
}

std::vector<ParamSpec> dropless_params() {
  return {{"block_rows", ParamKind::INTEGER, 128.0, "rows per block of the block-sparse expert GEMMs; each expert's "
                                                   "rows are padded to a multiple", std::nullopt, 1.0}};
}

}  // namespace moesim
