// The moesim command end to end: exit codes, messages and result.json for every shipped scenario.
#include <catch2/catch.hpp>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/golden.hpp"
#include "tests/helpers.hpp"

using namespace moesim::test;
namespace fs = std::filesystem;

namespace {
const std::string MOESIM = MOESIM_BINARY;

fs::path temp_dir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("moesim_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string write_temp(const std::string& name, const std::string& text) {
  const fs::path path = temp_dir(name) / "scenario.json";
  std::ofstream(path) << text;
  return path.string();
}
}  // namespace

TEST_CASE("moesim run with no argument prints the summary and exits 0", "[cli]") {
  const CommandResult r = run_command(MOESIM + " run");
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("step time") && Catch::Contains("expert_compute") && Catch::Contains("MFU"));
}

namespace {
// Runs every scenario in scenarios/ with the engine and checks result.json and trace.json.
void check_every_scenario(const std::string& engine) {
  std::vector<fs::path> scenarios;
  for (const auto& entry : fs::directory_iterator(fs::path(MOESIM_SOURCE_DIR) / "scenarios"))
    if (entry.path().extension() == ".json") scenarios.push_back(entry.path());
  std::sort(scenarios.begin(), scenarios.end());
  REQUIRE(scenarios.size() >= 6);
  for (const fs::path& scenario : scenarios) {
    INFO(scenario);
    const fs::path out = temp_dir(scenario.stem().string() + "_" + engine);
    const CommandResult r =
        run_command(MOESIM + " run " + scenario.string() + " --engine " + engine + " --out " + out.string());
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    const auto result = nlohmann::json::parse(read_file((out / "result.json").string()));
    for (const char* key : {"engine", "step_time_s", "breakdown_s", "critical_gpu", "stragglers", "tokens", "expert_load",
                            "a2a_bytes", "memory_gib_per_gpu", "fits_memory", "mfu", "tokens_per_s", "scenario"})
      CHECK(result.contains(key));
    CHECK(result["engine"] == engine);
    CHECK(result.contains("links") == (engine == "des"));
    for (const char* key : {"routed", "dropped", "drop_rate"}) CHECK(result["tokens"].contains(key));
    CHECK(result["expert_load"].contains("max_over_mean"));
    CHECK(result["a2a_bytes"].contains("intra_node"));
    CHECK(result["a2a_bytes"].contains("inter_node"));
    double parts = 0;
    for (const auto& [name, seconds] : result["breakdown_s"].items()) parts += seconds.get<double>();
    CHECK(parts == Approx(result["step_time_s"].get<double>()).epsilon(1e-9));
    CHECK(result["step_time_s"].get<double>() > 0);
    // The trace is valid JSON with spans, one process per node and one thread per GPU.
    const auto trace = nlohmann::json::parse(read_file((out / "trace.json").string()));
    size_t spans = 0, threads = 0;
    for (const auto& event : trace["traceEvents"]) {
      spans += event["ph"] == "X";
      threads += event["name"] == "thread_name";
    }
    CHECK(spans > threads);
    CHECK(threads > 0);
    check_golden(result, fs::path(MOESIM_SOURCE_DIR) / "tests" / "golden" / (scenario.stem().string() + "." + engine + ".json"));
  }
}
}  // namespace

TEST_CASE("every shipped scenario writes result.json and trace.json and matches its golden figures (analytic)", "[cli][scenarios]") {
  check_every_scenario("analytic");
}

TEST_CASE("every shipped scenario writes result.json and trace.json and matches its golden figures (des)", "[cli][scenarios][des]") {
  check_every_scenario("des");
}

TEST_CASE("the resolved scenario in result.json runs again to the same result", "[cli]") {
  const fs::path out1 = temp_dir("resolved1"), out2 = temp_dir("resolved2");
  REQUIRE(run_command(MOESIM + " run --out " + out1.string()).exit_code == 0);
  auto first = nlohmann::json::parse(read_file((out1 / "result.json").string()));
  auto resolved = first["scenario"];
  resolved["cluster"].erase("preset");  // every field is explicit; no preset needed
  resolved["model"].erase("preset");
  const std::string path = write_temp("resolved_input", resolved.dump(2));
  REQUIRE(run_command(MOESIM + " run " + path + " --out " + out2.string()).exit_code == 0);
  auto second = nlohmann::json::parse(read_file((out2 / "result.json").string()));
  CHECK(first["step_time_s"] == second["step_time_s"]);
  CHECK(first["tokens"] == second["tokens"]);
}

TEST_CASE("bad input: one line naming file and path and non-zero exit", "[cli]") {
  const std::string path = write_temp("bad", R"({"cluster": {"preset": "dgx-h100"}, "model": {"preset": "mixtral-8x7b"},
    "plan": {"dp": 8, "ep": 48}})");
  const CommandResult r = run_command(MOESIM + " run " + path);
  CHECK(r.exit_code == 1);
  CHECK(r.output == "moesim: error: " + path + ": /plan/ep: ep=48 does not divide experts=8\n");
}

TEST_CASE("a run beyond a resource limit exits 5 with one line naming the limit", "[cli][limits]") {
  const std::string path = write_temp("limit", R"({"cluster": {"preset": "dgx-h100", "nodes": 12500},
    "model": {"preset": "mixtral-8x7b"}, "plan": {"dp": 12500, "tp": 8, "ep": 8},
    "sim": {"engine": "des", "max_memory_gib": 8}})");
  const CommandResult r = run_command(MOESIM + " run " + path);
  CHECK(r.exit_code == 5);
  CHECK_THAT(r.output, Catch::StartsWith("moesim: limit: this run needs about") && Catch::Contains("sim.max_memory_gib"));
}

TEST_CASE("usage errors and presets", "[cli]") {
  CHECK(run_command(MOESIM + " frobnicate").exit_code == 2);
  CHECK(run_command(MOESIM + " run --bogus").exit_code == 2);
  CHECK(run_command(MOESIM + " estimate").exit_code == 2);
  const CommandResult presets = run_command(MOESIM + " presets");
  CHECK(presets.exit_code == 0);
  for (const char* name : {"h100-sxm", "h800", "h200", "a100-80g", "b200", "mi300x", "dgx-h100", "deepseek-v3",
                           "vmoe-b16", "top_k", "capacity_factor", "dirichlet", "contiguous", "flat", "hierarchical"})
    CHECK_THAT(presets.output, Catch::Contains(name));
}

TEST_CASE("progress lines show on a terminal and never in piped output", "[cli][progress]") {
  const std::string validate = MOESIM + " validate " + MOESIM_SOURCE_DIR + "/tests/fixtures/validation/mini.json";
  const CommandResult piped = run_command(validate);
  REQUIRE(piped.exit_code == 0);
  CHECK(piped.output.find('\r') == std::string::npos);
  CHECK(piped.output.find("ETA") == std::string::npos);
  // `script` gives the command a pseudo-terminal, as an interactive shell would.
  const CommandResult terminal = run_command("script -qec '" + validate + "' /dev/null");
  REQUIRE(terminal.exit_code == 0);
  CHECK_THAT(terminal.output, Catch::Contains("\rvalidate: "));
}
