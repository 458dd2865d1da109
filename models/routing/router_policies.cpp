// The router-policy registry: one line per policy.
#include "models/routing/router.hpp"

namespace moesim {

std::unique_ptr<RouterPolicy> make_top_k_capacity_router(const Params&);
std::vector<ParamSpec> top_k_capacity_params();

const Registry<Component<RouterFactory>>& router_policies() {
  static const auto registry = [] {
    Registry<Component<RouterFactory>> r("router policy");
    r.add("top_k", "token-choice top-k with expert capacity and token dropping (GShard, Switch)",
          {top_k_capacity_params(), make_top_k_capacity_router});
    return r;
  }();
  return registry;
}

}  // namespace moesim
