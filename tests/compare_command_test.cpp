// moesim routers and moesim place end to end: rows, files, determinism and errors.
#include <catch2/catch.hpp>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/helpers.hpp"

using namespace moesim::test;
namespace fs = std::filesystem;

namespace {
const std::string MOESIM = MOESIM_BINARY;

std::string small_scenario() {
  const fs::path dir = fs::temp_directory_path() / ("moesim_compare_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "scenario.json").string();
  std::ofstream(path) << scenario_json(R"({"dp": 16, "ep": 16, "micro_batches": 2, "seq_len": 512})",
                                       R"({"policy": "topk"})", R"({"alpha": 0.5, "drift": 0.1, "seed": 3})",
                                       R"({"preset": "olmoe-1b-7b", "layers": 4})", R"({"preset": "dgx-h100", "nodes": 2})");
  return path;
}
}  // namespace

TEST_CASE("moesim routers writes one row per policy, the same on every run", "[cli][compare]") {
  const std::string scenario = small_scenario();
  const fs::path out = fs::path(scenario).parent_path() / "routers";
  const std::string command = MOESIM + " routers " + scenario +
                              " --policies topk:capacity_factor=1.0,expert_choice,dropless --steps 4 --out " + out.string();
  const CommandResult r = run_command(command);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("topk:capacity_factor=1.0") && Catch::Contains("step p99 ms"));
  const auto rows = nlohmann::json::parse(read_file((out / "routers.json").string()));
  REQUIRE(rows.size() == 3);
  for (const auto& row : rows) {
    for (const char* key : {"name", "drop_rate", "expert_max_over_mean", "rank_max_over_mean", "a2a_bytes_intra",
                            "a2a_bytes_inter", "step_time_p50_s", "step_time_p99_s"})
      CHECK(row.contains(key));
    CHECK(row["step_time_s"].size() == 4);
    CHECK(row["step_time_p99_s"] >= row["step_time_p50_s"]);
  }
  CHECK(rows[0]["drop_rate"] > 0);
  CHECK(rows[1]["expert_max_over_mean"] == Approx(1.0));  // expert choice fills every expert
  CHECK(rows[2]["drop_rate"] == 0);
  const std::string page = read_file((out / "report.html").string());
  for (const char* chart : {"chart-drop", "chart-expert-balance", "chart-rank-balance", "chart-a2a-intra", "chart-step-p50",
                            "chart-step-p99"}) {
    INFO(chart);
    const size_t at = page.find(std::string("<svg id=\"") + chart + "\"");
    REQUIRE(at != std::string::npos);
    CHECK(page.find("<rect", at) < page.find("</svg>", at));
  }
  const std::string csv = read_file((out / "routers.csv").string());
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 4);
  const std::string first = read_file((out / "routers.json").string());
  REQUIRE(run_command(command).exit_code == 0);
  CHECK(read_file((out / "routers.json").string()) == first);
}

TEST_CASE("moesim place: EPLB lowers the busiest GPU's rows, and re-planning charges migration", "[cli][compare]") {
  const std::string scenario = small_scenario();
  const fs::path out = fs::path(scenario).parent_path() / "place";
  const CommandResult r = run_command(MOESIM + " place " + scenario +
                                      " --strategies contiguous,eplb_global:redundant=16 --steps 3 --out " + out.string());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto rows = nlohmann::json::parse(read_file((out / "place.json").string()));
  REQUIRE(rows.size() == 2);
  CHECK(rows[1]["rank_max_over_mean"] < rows[0]["rank_max_over_mean"]);
  CHECK(rows[1]["migration_s"] == 0);  // planned once
  std::string text = read_file(scenario);
  text.back() = ',';
  text += R"("sim": {"replan_every": 1}})";
  const std::string replanned = (fs::path(scenario).parent_path() / "replan.json").string();
  std::ofstream(replanned) << text;
  const CommandResult again =
      run_command(MOESIM + " place " + replanned + " --strategies eplb_global:redundant=16 --steps 3 --out " + out.string());
  REQUIRE(again.exit_code == 0);
  const auto moved = nlohmann::json::parse(read_file((out / "place.json").string()));
  CHECK(moved[0]["migration_s"] > 0);  // drifting loads move experts at steps 1 and 2
}

TEST_CASE("moesim routers and place reject bad choices with the entry and the key", "[cli][compare]") {
  const std::string scenario = small_scenario();
  CommandResult r = run_command(MOESIM + " routers " + scenario + " --policies magic");
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Catch::Contains("--policies magic:") && Catch::Contains("/router/policy"));
  r = run_command(MOESIM + " routers " + scenario + " --policies topk:capacity_factor=-1");
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Catch::Contains("/router/capacity_factor"));
  r = run_command(MOESIM + " routers " + scenario + " --policies topk:nonsense=1");
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Catch::Contains("/router/nonsense") && Catch::Contains("unknown key"));
  r = run_command(MOESIM + " place " + scenario);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("--strategies is required"));
  r = run_command(MOESIM + " place " + scenario + " --strategies explicit:ranks=3");
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Catch::Contains("/placement/ranks"));
}
