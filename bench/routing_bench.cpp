// Router speed: 1M tokens routed to 256 experts, top-8 (issue 4's target: <= 1 s on one
// core), with the Dirichlet score source and each token-choice drop order, and the policies
// that read every expert's logit on a smaller group.
#include <benchmark/benchmark.h>

#include "models/model.hpp"
#include "models/routing/router.hpp"
#include "models/scores/score_source.hpp"
#include "sim/scenario.hpp"

namespace {

using namespace moesim;

Scenario deepseek_with(const std::string& router) {
  return parse_scenario(R"({"cluster": {"preset": "hgx-h800", "nodes": 1}, "model": {"preset": "deepseek-v3"},
                            "plan": {"dp": 8, "ep": 8}, "router": )" +
                            router + R"(, "scores": {"alpha": 1.0, "seed": 7}})",
                        "bench");
}

void route_tokens(benchmark::State& state, const std::string& router) {
  const int tokens = int(state.range(0));
  const Scenario s = deepseek_with(router);
  const RouterSetup setup{s.model.experts, s.model.top_k, tokens, tokens, 8};
  auto policy = router_policies().find(s.router.name)->make(s.router.params, setup);
  auto scores = score_sources().find(s.scores.name)->make(s.scores.params, s.model);
  GroupRouting out;
  int step = 0;
  for (auto _ : state) {
    policy->route(*scores, {3, 0, 0, step++}, tokens, out);
    benchmark::DoNotOptimize(out.expert.data());
  }
  state.counters["tokens_per_s"] = benchmark::Counter(double(tokens) * state.iterations(), benchmark::Counter::kIsRate);
}

void BM_RouteTopKPosition(benchmark::State& state) {
  route_tokens(state, R"({"policy": "topk", "capacity_factor": 1.25, "drop_order": "position"})");
}
void BM_RouteTopKProbs(benchmark::State& state) {
  route_tokens(state, R"({"policy": "topk", "capacity_factor": 1.25, "drop_order": "probs"})");
}
void BM_RouteDropless(benchmark::State& state) { route_tokens(state, R"({"policy": "dropless"})"); }
void BM_RouteNodeLimited(benchmark::State& state) { route_tokens(state, R"({"policy": "node_limited"})"); }
void BM_RouteExpertChoice(benchmark::State& state) { route_tokens(state, R"({"policy": "expert_choice"})"); }

BENCHMARK(BM_RouteTopKPosition)->Arg(1 << 20)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RouteTopKProbs)->Arg(1 << 20)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RouteDropless)->Arg(1 << 20)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RouteNodeLimited)->Arg(1 << 16)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RouteExpertChoice)->Arg(1 << 16)->Unit(benchmark::kMillisecond);

}  // namespace
