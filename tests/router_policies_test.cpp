// The defining property of each router policy and placement strategy (issue 4's list).
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <unistd.h>
#include <filesystem>

#include "hardware/topology.hpp"
#include "models/placement/eplb.hpp"
#include "models/scores/measured_counts.hpp"
#include "models/scores/trace_reader.hpp"
#include "models/routing/router.hpp"
#include "sim/traffic.hpp"
#include "tests/helpers.hpp"

using namespace moesim;
using namespace moesim::test;

namespace {

// One capacity group routed by the scenario's policy and score source.
struct Group {
  Scenario s;
  RouterSetup setup;
  std::unique_ptr<RouterPolicy> router;
  std::unique_ptr<ScoreSource> scores;
  GroupRouting out;

  explicit Group(const std::string& json, int ep_nodes = 1) : s(scenario(json)) {
    setup = {s.model.experts, s.model.top_k, s.plan.tokens_per_gpu(), s.plan.seq_len, ep_nodes};
    router = router_policies().find(s.router.name)->make(s.router.params, setup);
    scores = score_sources().find(s.scores.name)->make(s.scores.params, s.model);
  }
  const GroupRouting& route(int layer = 0, int gpu = 0, int step = 0) {
    router->route(*scores, {layer, 0, gpu, step}, setup.tokens, out);
    return out;
  }
  std::vector<int> experts_of(int item) const {
    return std::vector<int>(out.expert.begin() + out.first[item], out.expert.begin() + out.first[item + 1]);
  }
};

std::string with_router(const std::string& router, const std::string& scores = R"({"alpha": 0.3, "seed": 7})",
                        const std::string& plan = R"({"dp": 8, "ep": 8, "seq_len": 1024})",
                        const std::string& model = R"({"preset": "olmoe-1b-7b"})") {
  return scenario_json(plan, router, scores, model);
}

void check_invariants(const GroupRouting& r, int experts) {
  CHECK(r.routed + r.dropped == r.requested);
  CHECK(long(r.expert.size()) == r.routed);
  long per_expert = 0;
  for (int e = 0; e < experts; ++e) per_expert += r.expert_tokens[e];
  CHECK(per_expert == r.routed);
}

double max_over_mean(const std::vector<long>& v) {
  double total = 0, most = 0;
  for (long x : v) total += x, most = std::max(most, double(x));
  return most / (total / v.size());
}

}  // namespace

TEST_CASE("expert choice loads every expert exactly C", "[routers]") {
  Group g(with_router(R"({"policy": "expert_choice", "capacity_factor": 2})"));
  const GroupRouting& r = g.route();
  const int capacity = int(std::ceil(2.0 * g.setup.tokens / g.setup.experts));  // 1024 tokens, 64 experts: 32
  REQUIRE(capacity == 32);
  for (int e = 0; e < g.setup.experts; ++e) CHECK(r.expert_tokens[e] == capacity);
  check_invariants(r, g.setup.experts);
  CHECK(r.dropped == 0);
  CHECK(r.unrouted_tokens > 0);  // under skew some tokens are chosen by no expert
}

TEST_CASE("BASE assigns exactly T/E tokens to every expert, one expert per token", "[routers]") {
  Group g(with_router(R"({"policy": "base"})"));
  const GroupRouting& r = g.route();
  for (int e = 0; e < g.setup.experts; ++e) CHECK(r.expert_tokens[e] == g.setup.tokens / g.setup.experts);
  for (int t = 0; t < r.items(); ++t) CHECK(g.experts_of(t).size() == 1);
  check_invariants(r, g.setup.experts);
  // The auction maximises the summed logits: better than a greedy fill in token order.
  std::vector<float> logits;
  g.scores->all_logits({0, 0, 0, 0}, g.setup.tokens, logits);
  double auction = 0, greedy = 0;
  std::vector<int> room(g.setup.experts, g.setup.tokens / g.setup.experts);
  for (int t = 0; t < g.setup.tokens; ++t) {
    auction += logits[size_t(t) * g.setup.experts + g.experts_of(t)[0]];
    int best = -1;
    for (int e = 0; e < g.setup.experts; ++e)
      if (room[e] > 0 && (best < 0 || logits[size_t(t) * g.setup.experts + e] > logits[size_t(t) * g.setup.experts + best]))
        best = e;
    --room[best];
    greedy += logits[size_t(t) * g.setup.experts + best];
  }
  CHECK(auction > greedy);
}

TEST_CASE("node-limited routing never reaches more than M nodes per token", "[routers]") {
  // OLMoE (64 experts, top-8) over EP 32 on 4 nodes: contiguous placement puts experts
  // 16n .. 16n+15 on node n, which is expert group n.
  const std::string json = scenario_json(R"({"dp": 32, "ep": 32, "seq_len": 512})",
                                         R"({"policy": "node_limited", "max_groups": 2})", R"({"alpha": 1, "seed": 2})",
                                         R"({"preset": "olmoe-1b-7b"})", R"({"preset": "dgx-h100", "nodes": 4})");
  const Scenario s = scenario(json);
  const Topology topology(s.cluster);
  StepRouter router(s, topology);
  const RoutedStep step = router.route(0);
  const EpGroupLayout& layout = step.group;
  Group g(json, 4);
  const GroupRouting& r = g.route(3, 5);
  int most_nodes = 0;
  for (int t = 0; t < r.items(); ++t) {
    std::set<int> nodes;
    for (int e : g.experts_of(t)) nodes.insert(layout.node[step.layers[0].placement.rank_of_slot[e]]);
    most_nodes = std::max(most_nodes, int(nodes.size()));
    CHECK(g.experts_of(t).size() == 8);
  }
  CHECK(most_nodes == 2);
}

TEST_CASE("position and probs drop the same count but different tokens", "[routers]") {
  std::vector<std::vector<int>> kept;
  std::vector<long> dropped;
  for (const char* order : {"position", "probs", "batch_priority"}) {
    Group g(with_router(std::string(R"({"policy": "topk", "capacity_factor": 1.0, "drop_order": ")") + order + "\"}"));
    const GroupRouting& r = g.route();
    check_invariants(r, g.setup.experts);
    dropped.push_back(r.dropped);
    kept.push_back(r.expert);
  }
  CHECK(dropped[0] > 0);
  CHECK(dropped[0] == dropped[1]);
  CHECK(dropped[0] == dropped[2]);
  CHECK(kept[0] != kept[1]);
  CHECK(kept[0] != kept[2]);
}

TEST_CASE("dropless policies never drop", "[routers]") {
  for (const char* router : {R"({"policy": "dropless"})", R"({"policy": "topk", "capacity_factor": null})",
                             R"({"policy": "soft_moe"})", R"({"policy": "loss_free_bias"})"}) {
    Group g(with_router(router, R"({"alpha": 0.05, "seed": 3})"));
    const GroupRouting& r = g.route();
    INFO(router);
    CHECK(r.dropped == 0);
    CHECK(r.unrouted_tokens == 0);
    check_invariants(r, g.setup.experts);
  }
  Group dropless(with_router(R"({"policy": "dropless", "block_rows": 64})"));
  CHECK(dropless.router->cost().pad_rows_to == 64);
}

TEST_CASE("the loss-free bias lowers max/mean load over 100 steps on a skewed source", "[routers]") {
  Group g(with_router(R"({"policy": "loss_free_bias", "update_rate": 0.02})", R"({"alpha": 0.5, "seed": 1})"));
  std::vector<double> ratio;
  for (int step = 0; step < 100; ++step) {
    std::vector<long> load(g.setup.experts, 0);
    for (int gpu = 0; gpu < 4; ++gpu) {
      const GroupRouting& r = g.route(0, gpu, step);
      for (int e = 0; e < g.setup.experts; ++e) load[e] += r.expert_tokens[e];
    }
    g.router->end_step(0, load);
    ratio.push_back(max_over_mean(load));
  }
  INFO("max/mean at step 0: " << ratio.front() << ", at step 99: " << ratio.back());
  CHECK(ratio.front() > 2.0);
  CHECK(ratio.back() < 0.6 * ratio.front());
}

TEST_CASE("EPLB reproduces the published output of its README example", "[routers][placement]") {
  std::ifstream file(std::string(MOESIM_SOURCE_DIR) + "/tests/fixtures/eplb/readme_example.json");
  REQUIRE(file.good());
  const auto doc = nlohmann::json::parse(file);
  const auto& in = doc.at("input");
  for (size_t layer = 0; layer < in.at("weight").size(); ++layer) {
    const std::vector<double> weight = in.at("weight")[layer].get<std::vector<double>>();
    const std::vector<int> expected = doc.at("expected").at("phy2log")[layer].get<std::vector<int>>();
    CHECK(eplb_rebalance(weight, in.at("num_replicas"), in.at("num_groups"), in.at("num_nodes"), in.at("num_gpus")) ==
          expected);
  }
}

TEST_CASE("a replica halves its expert's per-GPU load", "[routers][placement]") {
  // EPLB with 8 spare slots on 8 ranks replicates the hottest experts of a skewed layer; each
  // copy of an expert with n copies serves 1/n of its rows (each source hands its rows to the
  // copies in turn, so a copy is off by at most one row per source).
  const Scenario s = scenario(with_router(R"({"policy": "topk", "capacity_factor": null})", R"({"alpha": 0.2, "seed": 5})") );
  Scenario eplb = s;
  eplb.placement = {"eplb_global", Params({{"redundant", 8.0}})};
  const Topology topology(s.cluster);
  const RoutedStep routed = route_step(eplb, topology);
  const LayerLoad& layer = routed.layers[0];
  const MicroBatchLoad& mb = layer.micro_batches[0];
  CHECK(layer.placement.slots() == 72);
  int replicated = 0;
  for (int e = 0; e < 64; ++e) {
    const int n = layer.placement.replicas(e);
    if (n < 2) continue;
    ++replicated;
    for (int slot = layer.placement.first_slot[e]; slot < layer.placement.first_slot[e + 1]; ++slot)
      CHECK(std::abs(mb.slot_rows[slot] - double(mb.expert_tokens[e]) / n) <= 8);
  }
  CHECK(replicated >= 1);
  // And the busiest rank's rows drop against the same routing without replicas.
  const RoutedStep plain = route_step(s, topology);
  const auto most = [](const MicroBatchLoad& l) { return *std::max_element(l.rank_rows.begin(), l.rank_rows.end()); };
  CHECK(plain.layers[0].micro_batches[0].expert_tokens == mb.expert_tokens);
  CHECK(most(mb) < 0.8 * most(plain.layers[0].micro_batches[0]));
}

TEST_CASE("hash routing: a token id always gets the same experts", "[routers]") {
  // With a one-word vocabulary every token has the same id, hence the same experts.
  Group g(with_router(R"({"policy": "hash", "vocab": 1})"));
  const GroupRouting& r = g.route(2);
  int used = 0;
  for (int e = 0; e < g.setup.experts; ++e) used += r.expert_tokens[e] > 0;
  CHECK(used == 8);
  check_invariants(r, g.setup.experts);
  // A Zipf vocabulary loads experts unevenly; uniform ids load them evenly.
  Group zipf(with_router(R"({"policy": "hash", "zipf_exponent": 1.2})"));
  Group uniform(with_router(R"({"policy": "hash", "zipf_exponent": 0})"));
  const auto ratio = [](const GroupRouting& r) {
    return max_over_mean(std::vector<long>(r.expert_tokens.begin(), r.expert_tokens.end()));
  };
  CHECK(ratio(zipf.route()) > ratio(uniform.route()));
}

TEST_CASE("soft MoE: every expert gets exactly its slots, nothing is dropped", "[routers]") {
  Group g(with_router(R"({"policy": "soft_moe", "slots_per_expert": 2})"));
  const GroupRouting& r = g.route();
  CHECK(r.items() == 128);
  for (int e = 0; e < g.setup.experts; ++e) CHECK(r.expert_tokens[e] == 2);
  CHECK(g.router->cost().gate_columns == 128);
  CHECK(g.router->cost().mixing_gemms == 2);
}

TEST_CASE("multi-head MoE routes h sub-tokens of 1/h width", "[routers]") {
  Group g(with_router(R"({"policy": "multi_head", "heads": 4, "capacity_factor": null})"));
  const GroupRouting& r = g.route();
  CHECK(r.items() == 4 * g.setup.tokens);
  CHECK(r.routed == 4L * g.setup.tokens * 8);
  CHECK(g.router->cost().row_fraction == 0.25);
}

TEST_CASE("expert prototyping takes one expert from each group", "[routers]") {
  Group g(with_router(R"({"policy": "prototype", "prototypes": 4, "capacity_factor": null})"));
  const GroupRouting& r = g.route();
  for (int t = 0; t < r.items(); ++t) {
    const std::vector<int> experts = g.experts_of(t);
    REQUIRE(experts.size() == 4);
    for (int i = 0; i < 4; ++i) CHECK(experts[i] / 16 == i);
  }
}

TEST_CASE("per-image routing: all patches of an image go to the same experts", "[routers]") {
  Group g(with_router(R"({"policy": "per_image", "capacity_factor": 1.0})", R"({"alpha": 0.3, "seed": 7})",
                      R"({"dp": 8, "ep": 8, "micro_batch_size": 16, "seq_len": 197})", R"({"preset": "vmoe-b16"})"));
  const GroupRouting& r = g.route(1);
  check_invariants(r, g.setup.experts);
  CHECK(r.items() == 16 * 197);
  for (int image = 0; image < 16; ++image)
    for (int p = 1; p < 197; ++p) CHECK(g.experts_of(image * 197 + p) == g.experts_of(image * 197));
  CHECK(r.dropped % 197 == 0);
}

TEST_CASE("GShard's random second expert sends fewer second choices", "[routers]") {
  Group always(with_router(R"({"policy": "topk", "capacity_factor": null})", R"({"alpha": 1, "seed": 4})",
                           R"({"dp": 8, "ep": 8, "seq_len": 1024})", R"({"preset": "mixtral-8x7b"})"));
  Group random(with_router(R"({"policy": "topk", "capacity_factor": null, "second_expert": "random"})",
                           R"({"alpha": 1, "seed": 4})", R"({"dp": 8, "ep": 8, "seq_len": 1024})",
                           R"({"preset": "mixtral-8x7b"})"));
  CHECK(always.route().requested == 2048);
  const long asked = random.route().requested;
  CHECK(asked < 2048);
  CHECK(asked > 1024);
}

TEST_CASE("co-activation placement keeps experts chosen together on one GPU", "[routers][placement]") {
  // Tokens mostly pick 4 of their 8 experts inside one of 16 clusters of 4 (a random
  // partition); 16 GPUs on 2 nodes hold 4 experts each. Placing each cluster on one GPU sends
  // a token to fewer GPUs.
  const auto step_with = [](const std::string& placement) {
    std::string json = scenario_json(R"({"dp": 16, "ep": 16, "seq_len": 512})",
                                     R"({"policy": "topk", "capacity_factor": null})",
                                     R"({"alpha": 2, "coselection": 0.9, "clusters": 16, "seed": 2})",
                                     R"({"preset": "olmoe-1b-7b", "layers": 2})", R"({"preset": "dgx-h100", "nodes": 2})");
    json.back() = ',';
    json += R"("placement": )" + placement + "}";
    const Scenario s = scenario(json);
    return route_step(s, Topology(s.cluster)).layers[0].micro_batches[0];
  };
  const MicroBatchLoad contiguous = step_with(R"({"strategy": "contiguous"})");
  const MicroBatchLoad grouped = step_with(R"({"strategy": "coactivation"})");
  const auto copies = [](const MicroBatchLoad& l) { return l.intra_copies + l.inter_copies + l.local_copies; };
  INFO("copies: contiguous " << copies(contiguous) << ", coactivation " << copies(grouped));
  CHECK(grouped.expert_tokens == contiguous.expert_tokens);
  CHECK(copies(grouped) < 0.8 * copies(contiguous));
  CHECK(grouped.inter_copies < contiguous.inter_copies);
}

TEST_CASE("explicit placement puts each expert where the list says, and checks the list", "[placement]") {
  std::vector<double> ranks(64);
  for (int e = 0; e < 64; ++e) ranks[e] = 7 - e / 8;
  const Placement p = placement_strategies().find("explicit")->make(Params({{"ranks", ranks}}), {64, 8, 8, {}});
  CHECK(p.rank_of_slot[0] == 7);
  CHECK(p.rank_of_slot[63] == 0);
  ranks.pop_back();
  CHECK_THROWS_WITH(placement_strategies().find("explicit")->make(Params({{"ranks", ranks}}), {64, 8, 8, {}}),
                    Catch::Contains("63 ranks; the model has 64 experts"));
}

TEST_CASE("the measured OLMoE source reproduces the counts it was fitted to", "[routers][scores]") {
  // Every domain and both measured layers: max/mean and coefficient of variation of the
  // expert counts of 200k routed tokens within 10 % of the measured ones.
  for (const char* domain : {"arxiv", "book", "c4", "github", "wikipedia"}) {
    const Scenario s = scenario(scenario_json(R"({"dp": 8, "ep": 8})", R"({"policy": "dropless"})",
                                              std::string(R"({"source": "measured", "domain": ")") + domain + "\"}",
                                              R"({"preset": "olmoe-1b-7b"})"));
    auto source = score_sources().find("measured")->make(s.scores.params, s.model);
    for (const MeasuredCounts& m : measured_counts()) {
      if (m.model != "olmoe-1b-7b" || m.domain != domain) continue;
      TokenChoices ch;
      source->top_choices({m.layer, 0, 0, 0}, 200000, 8, false, ch);
      std::vector<double> counts(64, 0);
      for (int32_t e : ch.expert) counts[e] += 1;
      const auto stats = [](const std::vector<double>& c) {
        double mean = 0, var = 0, most = 0;
        for (double x : c) mean += x / c.size(), most = std::max(most, x);
        for (double x : c) var += (x - mean) * (x - mean) / c.size();
        return std::pair<double, double>{most / mean, std::sqrt(var) / mean};
      };
      const auto [measured_max, measured_cv] = stats(m.counts);
      const auto [routed_max, routed_cv] = stats(counts);
      INFO(domain << " layer " << m.layer << ": max/mean " << measured_max << " vs " << routed_max << ", CV "
                  << measured_cv << " vs " << routed_cv);
      CHECK(std::abs(routed_max / measured_max - 1) < 0.10);
      CHECK(std::abs(routed_cv / measured_cv - 1) < 0.10);
    }
  }
}

namespace {
std::string trace_scenario(const std::string& router, const std::string& trace) {
  return scenario_json(R"({"dp": 8, "ep": 8, "seq_len": 12})", router,
                       R"({"source": "trace", "path": ")" + trace + "\"}", R"({"preset": "mixtral-8x7b", "layers": 4})");
}
const std::string SMALL_TRACE = std::string(MOESIM_SOURCE_DIR) + "/tests/fixtures/traces/small.jsonl";
}  // namespace

TEST_CASE("trace replay gives the exact counts of the trace", "[routers][scores][trace]") {
  // Expected counts straight from the file: per trace layer, per expert.
  std::vector<std::vector<long>> expected(2, std::vector<long>(8, 0));
  std::ifstream file(SMALL_TRACE);
  long tokens = 0;
  for (std::string line; std::getline(file, line);) {
    if (line.empty()) continue;
    const auto doc = nlohmann::json::parse(line);
    for (const auto& token : doc["exp_ids"]) {
      ++tokens;
      for (int l = 0; l < 2; ++l)
        for (int e : token[l]) ++expected[l][e];
    }
  }
  REQUIRE(tokens == 12);
  // 8 source GPUs with 12 tokens each: each replays the whole trace once (it wraps).
  const Scenario s = scenario(trace_scenario(R"({"policy": "topk", "capacity_factor": null})", SMALL_TRACE));
  const RoutedStep routed = route_step(s, Topology(s.cluster));
  REQUIRE(routed.layers.size() == 4);
  for (int moe = 0; moe < 4; ++moe) {
    const auto& got = routed.layers[moe].micro_batches[0].expert_tokens;
    for (int e = 0; e < 8; ++e) CHECK(got[e] == 8 * expected[moe % 2][e]);
  }
}

TEST_CASE("trace replay errors name the file, line and JSON path", "[routers][scores][trace]") {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("moesim_trace_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto error_of = [&](const std::string& text, const std::string& router = R"({"policy": "topk"})") {
    const std::string path = (dir / "t.jsonl").string();
    std::ofstream(path) << text;
    try {
      const Scenario s = scenario(trace_scenario(router, path));
      route_step(s, Topology(s.cluster));
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string good = R"({"exp_ids": [[[0, 1], [2, 3]]]})";
  CHECK_THAT(error_of(good + "\n" + R"({"exp_ids": [[[0, 9], [2, 3]]]})"),
             Catch::Contains("t.jsonl:2: /exp_ids/0/0/1: 9: expected an expert id in 0..7"));
  CHECK_THAT(error_of(good + "\n" + R"({"exp_ids": [[[0, 1, 2], [2, 3]]]})"),
             Catch::Contains("t.jsonl:2: /exp_ids/0/0: 3 experts; earlier tokens chose 2"));
  CHECK_THAT(error_of("{not json"), Catch::Contains("t.jsonl:1: /: not JSON"));
  CHECK_THAT(error_of(""), Catch::Contains("holds no token"));
  CHECK_THAT(error_of(good, R"({"policy": "topk", "drop_order": "probs"})"), Catch::Contains("no router scores"));
  CHECK_THAT(error_of(good, R"({"policy": "expert_choice"})"), Catch::Contains("no router scores"));
  CHECK_THAT(error_of(R"({"exp_ids": [[[0], [2]]]})"), Catch::Contains("the trace chose 1 experts per token"));
}

TEST_CASE("a large trace is streamed: the reader reads only the lines a run consumes", "[routers][scores][trace]") {
  // 20,000 sequences of 64 tokens (about 30 MB); a run that needs 1,000 tokens reads 16 lines.
  const std::string path = (std::filesystem::temp_directory_path() / ("moesim_big_trace_" + std::to_string(::getpid()) + ".jsonl")).string();
  {
    std::ofstream out(path);
    std::string token = "[[0, 1], [2, 3], [4, 5], [6, 7]]", line = R"({"exp_ids": [)";
    for (int t = 0; t < 64; ++t) line += (t ? ", " : "") + token;
    line += "]}\n";
    for (int s = 0; s < 20000; ++s) out << line;
  }
  REQUIRE(std::filesystem::file_size(path) > 20'000'000);
  TraceReader reader(path, 8);
  CHECK(reader.ensure(1000) >= 1000);
  CHECK(reader.lines_read() == 16);
  CHECK(reader.tokens() == 16 * 64);
  CHECK_FALSE(reader.at_end());
  std::filesystem::remove(path);
}

TEST_CASE("persistence makes consecutive tokens share experts and batches burstier", "[routers][scores]") {
  // With persistence rho a token repeats its predecessor's set with probability rho.
  const auto same_as_previous = [](double rho) {
    Group g(with_router(R"({"policy": "dropless"})",
                        R"({"alpha": 1, "persistence": )" + std::to_string(rho) + R"(, "seed": 8})"));
    const GroupRouting& r = g.route();
    int same = 0;
    for (int t = 1; t < r.items(); ++t) same += g.experts_of(t) == g.experts_of(t - 1);
    return double(same) / (r.items() - 1);
  };
  CHECK(same_as_previous(0.0) < 0.01);
  CHECK(same_as_previous(0.7) == Approx(0.7).margin(0.05));
}
