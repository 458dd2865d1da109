// Router and score-source properties.
#include <catch2/catch.hpp>

#include "hardware/topology.hpp"
#include "models/routing/capacity.hpp"
#include "models/scores/score_source.hpp"
#include "sim/estimator.hpp"
#include "sim/traffic.hpp"
#include "tests/helpers.hpp"

using namespace moesim;
using namespace moesim::test;

namespace {
RoutedStep routed(const Scenario& s) { return route_step(s, Topology(s.cluster)); }

// The capacity stage of token-choice routing on hand-made choices; returns (token, expert) pairs kept.
std::vector<std::pair<int, int>> kept(const TokenChoices& ch, int experts, double capacity_factor, DropOrder order) {
  GroupRouting out;
  accept_with_capacity(ch, CapacityRule{capacity_factor, order}, experts, out);
  std::vector<std::pair<int, int>> pairs;
  for (int t = 0; t < out.items(); ++t)
    for (int i = out.first[t]; i < out.first[t + 1]; ++i) pairs.emplace_back(t, out.expert[i]);
  CHECK(out.routed == long(pairs.size()));
  CHECK(out.routed + out.dropped == out.requested);
  return pairs;
}

double dropped_of(const RoutedStep& r) {
  double d = 0;
  for (const auto& l : r.layers)
    for (const auto& mb : l.micro_batches) d += mb.dropped;
  return d;
}
}  // namespace

TEST_CASE("routed + dropped = tokens x k in every layer and micro-batch", "[routing]") {
  for (const char* order : {"position", "probs"}) {
    const Scenario s = scenario(scenario_json(R"({"dp": 8, "ep": 8, "micro_batches": 2, "seq_len": 512})",
                                              std::string(R"({"capacity_factor": 1.0, "drop_order": ")") + order + "\"}",
                                              R"({"alpha": 0.5, "seed": 11})"));
    const RoutedStep r = routed(s);
    REQUIRE(r.layers.size() == 32);
    const long expected = long(s.plan.tokens_per_gpu()) * s.plan.ep * s.model.top_k;
    for (const auto& layer : r.layers)
      for (const auto& mb : layer.micro_batches) {
        CHECK(mb.routed + mb.dropped == expected);
        long per_expert = 0;
        for (int t : mb.expert_tokens) per_expert += t;
        CHECK(per_expert == mb.routed);
      }
    CHECK(dropped_of(r) > 0);  // capacity factor 1.0 under skew must drop something
  }
}

TEST_CASE("dropless routing (capacity_factor null) drops nothing", "[routing]") {
  const Scenario s = scenario(scenario_json(R"({"dp": 8, "ep": 8, "seq_len": 512})", R"({"capacity_factor": null})",
                                            R"({"alpha": 0.1, "seed": 5})"));
  CHECK(dropped_of(routed(s)) == 0);
}

TEST_CASE("a larger capacity factor never drops more", "[routing]") {
  double previous = 1e300;
  for (double cf : {0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 4.0}) {
    for (const char* order : {"position", "probs"}) {
      const Scenario s = scenario(scenario_json(
          R"({"dp": 8, "ep": 8, "seq_len": 512})",
          R"({"capacity_factor": )" + std::to_string(cf) + R"(, "drop_order": ")" + order + "\"}", R"({"alpha": 0.5, "seed": 9})"));
      const double dropped = dropped_of(routed(s));
      if (std::string(order) == "position") {
        CHECK(dropped <= previous);
        previous = dropped;
      }
    }
  }
  CHECK(previous == 0);  // at 4x the even share nothing is dropped
}

TEST_CASE("raising alpha lowers max/mean expert load", "[routing]") {
  double previous = 1e300;
  for (double alpha : {0.1, 0.5, 2.0, 20.0, 1000.0}) {
    const Scenario s = scenario(scenario_json(R"({"dp": 8, "ep": 8, "seq_len": 1024})", R"({"capacity_factor": null})",
                                              R"({"alpha": )" + std::to_string(alpha) + R"(, "seed": 1})",
                                              R"({"preset": "olmoe-1b-7b"})"));
    const Topology topology(s.cluster);
    const StepResult r = estimate_step(s, topology, route_step(s, topology));
    INFO("alpha " << alpha << " max/mean " << r.expert_max_over_mean);
    CHECK(r.expert_max_over_mean < previous);
    previous = r.expert_max_over_mean;
  }
  // Near-uniform popularity leaves sampling noise: ~1000 assignments per expert (sd ~3 %),
  // and the largest of 64 experts lies within about 4 sd of the mean.
  CHECK(previous < 1.13);
}

TEST_CASE("position order: first choices win over second choices and earlier tokens over later", "[routing]") {
  // 4 tokens, top-2, 2 experts; capacity = ceil(1.0 * 8 / 2) = 4 per expert.
  TokenChoices ch;
  ch.tokens = 4;
  ch.top_k = 2;
  ch.expert = {0, 1, 0, 1, 0, 1, 1, 0};  // token 3 picks expert 1 first
  ch.score = {9, 1, 8, 2, 7, 3, 6, 4};
  // capacity = ceil(0.5 * 8 / 2) = 2. Expert 0 first choices: tokens 0, 1, 2 -> tokens 0 and 1
  // win. Expert 1 first choice: token 3, then second choices in token order: token 0.
  CHECK(kept(ch, 2, 0.5, DropOrder::POSITION) == std::vector<std::pair<int, int>>{{0, 0}, {0, 1}, {1, 0}, {3, 1}});
}

TEST_CASE("probs order: a full expert keeps its highest scores", "[routing]") {
  TokenChoices ch;
  ch.tokens = 4;
  ch.top_k = 1;
  ch.expert = {0, 0, 0, 0};
  ch.score = {0.1f, 0.9f, 0.5f, 0.7f};
  // capacity = ceil(0.5 * 4 / 1) = 2
  CHECK(kept(ch, 1, 0.5, DropOrder::PROBS) == std::vector<std::pair<int, int>>{{1, 0}, {3, 0}});
  CHECK(kept(ch, 1, 0.5, DropOrder::POSITION) == std::vector<std::pair<int, int>>{{0, 0}, {1, 0}});
  // batch priority: tokens by top-1 score (1, 3, 2, 0), then position order
  CHECK(kept(ch, 1, 0.5, DropOrder::BATCH_PRIORITY) == std::vector<std::pair<int, int>>{{1, 0}, {3, 0}});
}

TEST_CASE("Dirichlet scores: distinct experts per token and best first", "[routing]") {
  auto source = score_sources().find("dirichlet")->make(
      Params({{"alpha", 0.05}, {"noise", 0.5}, {"drift", 0.0}, {"coselection", 0.0}, {"persistence", 0.0}, {"clusters", 8.0}, {"seed", 4.0}}), *model_presets().find("deepseek-v3"));
  TokenChoices ch;
  source->top_choices({5, 0, 0}, 2000, 8, true, ch);
  for (int t = 0; t < ch.tokens; ++t) {
    std::vector<int> experts(ch.expert.begin() + t * 8, ch.expert.begin() + t * 8 + 8);
    std::sort(experts.begin(), experts.end());
    CHECK(std::adjacent_find(experts.begin(), experts.end()) == experts.end());
    for (int c = 1; c < 8; ++c) CHECK(ch.score[t * 8 + c] <= ch.score[t * 8 + c - 1]);
  }
}
