// Soft MoE (Puigcerver et al. 2024): no token is sent anywhere. Each expert has
// `slots_per_expert` slots; a slot's input is a softmax-weighted mix of all tokens of the
// group, and each token's output a mix of all slot outputs. So nothing is dropped, every
// expert gets exactly its slots, and what travels to the experts are the slots (experts x
// slots rows per group, whatever the skew). The mixing is two dense GEMMs of tokens x slots x
// d_model beside the logits GEMM, which is slots wide.
#include "models/routing/router.hpp"

namespace moesim {

namespace {

class SoftMoeRouter final : public RouterPolicy {
 public:
  SoftMoeRouter(const Params& params, const RouterSetup& setup)
      : slots_per_expert_(int(params.number("slots_per_expert"))), setup_(setup) {}

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
  int slots_per_expert_;
  RouterSetup setup_;
};

}  // namespace

std::unique_ptr<RouterPolicy> make_soft_moe_router(const Params& params, const RouterSetup& setup) {
  return std::make_unique<SoftMoeRouter>(params, setup);
}

std::vector<ParamSpec> soft_moe_params() {
  return {{"slots_per_expert", ParamKind::INTEGER, 1.0, "slots each expert processes per capacity group", std::nullopt,
           1.0}};
}

}  // namespace moesim
