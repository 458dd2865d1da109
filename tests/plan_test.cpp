// moesim plan: every plan dividing the cluster is counted, ranked by the analytic step, or
// rejected with a reason.
#include <catch2/catch.hpp>

#include <filesystem>
#include <sstream>
#include <set>
#include <nlohmann/json.hpp>

#include "hardware/topology.hpp"
#include "sim/estimator.hpp"
#include "sim/plan_search.hpp"
#include "sim/traffic.hpp"
#include "tests/helpers.hpp"

using namespace moesim;
using namespace moesim::test;

TEST_CASE("plan search ranks every runnable plan by its analytic step and counts the rest by reason", "[plan]") {
  const Scenario s = scenario(scenario_json(R"({"dp": 16, "ep": 8, "micro_batches": 2, "seq_len": 2048})",
                                            R"({"policy": "topk", "capacity_factor": 1.25})", R"({"alpha": 1, "seed": 2})",
                                            R"({"preset": "olmoe-1b-7b"})", R"({"preset": "dgx-h100", "nodes": 2})"));
  const PlanSearch search = search_plans(s, PlanSearchOptions{});
  REQUIRE(search.ranked.size() >= 5);
  int rejected = 0;
  for (const auto& [reason, n] : search.rejected) rejected += n;
  CHECK(search.enumerated == int(search.ranked.size()) + rejected);
  for (size_t i = 0; i < search.ranked.size(); ++i) {
    const ParallelPlan& p = search.ranked[i].plan;
    INFO(plan_label(p));
    CHECK(p.world() == 16);
    CHECK(p.dp * p.micro_batches == 16 * 2);  // the global batch is kept
    CHECK(search.ranked[i].analytic.fits_memory);
    if (i > 0) CHECK(search.ranked[i].analytic.step_time_s >= search.ranked[i - 1].analytic.step_time_s);
  }
  // The ranking's step time is the analytic estimator's for that plan on the same routing sample.
  Scenario best = s;
  best.plan = search.ranked[0].plan;
  best.sim.routed_micro_batches = 1;
  best.sim.routed_layers = search.routed_layers;
  const Topology topology(best.cluster);
  CHECK(estimate_step(best, topology, route_step(best, topology)).step_time_s ==
        Approx(search.ranked[0].analytic.step_time_s).epsilon(1e-12));
  CHECK_THAT(why_it_ranks(search, 0), Catch::StartsWith("ahead of #2 by"));
  CHECK_THAT(why_it_ranks(search, 1), Catch::StartsWith("behind #1 by"));
}

TEST_CASE("plan search of a dense model splits no experts: every plan has ep 1 and etp 1", "[plan]") {
  const Scenario s = scenario(scenario_json(R"({"dp": 8, "micro_batches": 2, "seq_len": 2048})", R"({"policy": "topk"})",
                                            "{}", R"({"preset": "llama3-8b", "layers": 8})"));
  const PlanSearch search = search_plans(s, PlanSearchOptions{});
  REQUIRE(search.ranked.size() >= 3);
  std::set<std::string> labels;
  for (const auto& ranked : search.ranked) {
    CHECK(ranked.plan.ep == 1);
    CHECK(ranked.plan.etp == 1);
    CHECK(labels.insert(plan_label(ranked.plan)).second);  // no plan twice
  }
}

TEST_CASE("plan search keeps the scenario's micro-batch size and refines only within its time budget", "[plan]") {
  const Scenario s = scenario(scenario_json(R"({"dp": 16, "ep": 8, "micro_batch_size": 2, "micro_batches": 2, "seq_len": 1024})",
                                            R"({"policy": "topk", "capacity_factor": 1.25})", R"({"alpha": 1, "seed": 2})",
                                            R"({"preset": "olmoe-1b-7b", "layers": 4})", R"({"preset": "dgx-h100", "nodes": 2})"));
  PlanSearchOptions options;
  options.refine = 2;
  options.refine_budget_s = 0;  // every run costs more than nothing: both skipped, with their estimates
  const PlanSearch none = search_plans(s, options);
  REQUIRE(none.ranked.size() >= 2);
  REQUIRE(none.refine_skipped.size() == 2);
  for (const auto& [rank, estimate_s] : none.refine_skipped) {
    CHECK_FALSE(none.ranked[rank].des);
    CHECK(estimate_s > 0);
  }
  for (const PlanCandidate& c : none.ranked) {
    INFO(plan_label(c.plan));
    CHECK(c.plan.dp * c.plan.micro_batch_size * c.plan.micro_batches == 16 * 2 * 2);  // the global batch is kept
    CHECK(c.plan.micro_batch_size == (64 / c.plan.dp % 2 == 0 ? 2 : 1));
  }
  // A budget of exactly the first run's estimate runs it and skips the second.
  options.refine_budget_s = none.refine_skipped[0].second;
  const PlanSearch first = search_plans(s, options);
  CHECK(first.ranked[0].des);
  REQUIRE(first.refine_skipped.size() == 1);
  CHECK(first.refine_skipped[0].first == 1);
}

TEST_CASE("moesim plan prints the table and writes plan.json, plan.csv and report.html", "[plan][cli]") {
  const auto dir = std::filesystem::temp_directory_path() / ("moesim_plan_" + std::to_string(::getpid()));
  const CommandResult r = run_command(std::string(MOESIM_BINARY) + " plan --top 3 --refine 1 --out " + dir.string());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("plans enumerated") && Catch::Contains("rejected:") && Catch::Contains("why"));
  // The default scenario's own plan (DP4 TP2 PP2 EP8) is named with its rank.
  CHECK_THAT(r.output, Catch::Matches("(.|\n)*the scenario's plan, DP4 TP2 PP2 EP8 m8, ranks #[0-9]+ of [0-9]+(.|\n)*"));
  const auto doc = nlohmann::json::parse(read_file((dir / "plan.json").string()));
  REQUIRE(doc["plans"].size() >= 3);
  CHECK(doc["plans"][0].contains("des_step_time_s"));
  CHECK_FALSE(doc["plans"][1].contains("des_step_time_s"));
  CHECK(read_file((dir / "report.html").string()).find("<svg id=\"chart-plans\"") != std::string::npos);
  // one CSV row per plan, its layout in full: the first plan's row agrees with plan.json
  std::istringstream csv(read_file((dir / "plan.csv").string()));
  std::string header, first;
  std::getline(csv, header), std::getline(csv, first);
  CHECK(header.rfind("rank,dp,tp,cp,pp,vp,ep,etp,fsdp,micro_batch_size,micro_batches,step_time_s", 0) == 0);
  const nlohmann::json& plan = doc["plans"][0]["plan"];
  CHECK(first.rfind("1," + plan["dp"].dump() + "," + plan["tp"].dump() + "," + plan["cp"].dump() + "," + plan["pp"].dump() +
                        "," + plan["vp"].dump() + "," + plan["ep"].dump() + "," + plan["etp"].dump() + ",false,",
                    0) == 0);
  CHECK(run_command(std::string(MOESIM_BINARY) + " plan --gpus 12").exit_code == 2);  // not whole nodes of 8
}
