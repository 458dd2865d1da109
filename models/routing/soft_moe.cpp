// Soft MoE (Puigcerver et al. 2024): no token is sent anywhere. Each expert has
// `slots_per_expert` slots; a slot's input is a softmax-weighted mix of all tokens of the
// group, and each token's output a mix of all slot outputs. So nothing is dropped, every
// expert gets exactly its slots, and what travels to the experts are the slots (experts x
// slots rows per group, whatever the skew). The mixing is two dense GEMMs of tokens x slots x
// d_model beside the logits GEMM, which is slots wide.
#include <algorithm>

#include "models/routing/router.hpp"

namespace moesim {

namespace {

class SoftMoeRouter final : public RouterPolicy {
 public:
  SoftMoeRouter(const Params& params, const RouterSetup& setup)
      : setup_(setup) {
    const auto slots = params.optional_number("slots_per_expert");
    slots_per_expert_ = slots ? int(*slots) : std::max(1, setup.tokens / setup.experts);
  }

  void route(const ScoreSource&, const ScoreContext&, int, GroupRouting& out) override {
    out.reset(setup_.experts);
    for (int e = 0; e < setup_.experts; ++e)
      for (int s = 0; s < slots_per_expert_; ++s) {
        out.accept(e);
        out.end_item();
      }
    out.requested = out.routed;
  }

  RouterCost cost() const override {
    return RouterCost{.gate_columns = setup_.experts * slots_per_expert_, .mixing_gemms = 2};
  }

 private:
  RouterSetup setup_;
  int slots_per_expert_ = 1;
};

}  // namespace

std::unique_ptr<RouterPolicy> make_soft_moe_router(const Params& params, const RouterSetup& setup) {
  return std::make_unique<SoftMoeRouter>(params, setup);
}

std::vector<ParamSpec> soft_moe_params() {
  return {{"slots_per_expert", ParamKind::OPTIONAL_INTEGER, std::monostate(),
           "slots each expert processes per capacity group; null = tokens / experts (as many slots as tokens)",
           std::nullopt, 1.0}};
}

}  // namespace moesim
