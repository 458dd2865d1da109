// moesim sweep: shards split the grid, a killed sweep resumes without losing or repeating a
// point, and a sweep under mpirun writes the lines of a one-process sweep.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "tests/helpers.hpp"

using namespace moesim::test;
namespace fs = std::filesystem;

namespace {

const std::string MOESIM = MOESIM_BINARY;

// 2 x 3 x 2 x 2 = 24 points; plan.ep 7 does not divide the 64 experts: 12 error lines.
fs::path write_sweep(const std::string& name, int layers = 4) {
  const fs::path dir = fs::temp_directory_path() / ("moesim_sweep_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "sweep.json") << R"({
  "scenario": {"cluster": {"preset": "dgx-h100", "nodes": 1}, "model": {"preset": "olmoe-1b-7b", "layers": )" + std::to_string(layers) + R"(},
               "plan": {"dp": 8, "ep": 8, "micro_batches": 2, "seq_len": 2048},
               "router": {"policy": "topk"}, "scores": {"alpha": 1.0}},
  "grid": {"plan.ep": [8, 7], "plan.micro_batches": [1, 2, 4], "router.capacity_factor": [1.0, null],
           "scores.seed": [1, 2]}
})";
  return dir;
}

std::vector<std::string> sorted_lines(const fs::path& file) {
  std::vector<std::string> lines;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  std::sort(lines.begin(), lines.end());
  return lines;
}

std::vector<size_t> points_of(const fs::path& file) {
  std::vector<size_t> points;
  for (const std::string& line : sorted_lines(file)) points.push_back(nlohmann::json::parse(line).at("point"));
  std::sort(points.begin(), points.end());
  return points;
}

}  // namespace

TEST_CASE("sweep shards are disjoint and cover the grid, and infeasible points are lines with the reason", "[sweep]") {
  const fs::path dir = write_sweep("shards");
  std::multiset<size_t> all;
  for (int i = 0; i < 3; ++i) {
    const fs::path out = dir / ("shard" + std::to_string(i) + ".jsonl");
    const CommandResult r =
        run_command(MOESIM + " sweep " + (dir / "sweep.json").string() + " --shard " + std::to_string(i) + "/3 --out " + out.string());
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    for (size_t p : points_of(out)) {
      CHECK(p % 3 == size_t(i));
      all.insert(p);
    }
  }
  CHECK(all.size() == 24);
  CHECK(std::set<size_t>(all.begin(), all.end()).size() == 24);  // disjoint
  size_t errors = 0;
  for (int i = 0; i < 3; ++i)
    for (const std::string& line : sorted_lines(dir / ("shard" + std::to_string(i) + ".jsonl"))) {
      const auto j = nlohmann::json::parse(line);
      if (j.contains("error")) {
        ++errors;
        CHECK(j["overrides"]["plan.ep"] == 7);
        CHECK_THAT(j["error"].get<std::string>(), Catch::Contains("/plan"));
      }
    }
  CHECK(errors == 12);
  CHECK(run_command(MOESIM + " sweep " + (dir / "sweep.json").string() + " --shard 3/3 --out x").exit_code == 2);
}

TEST_CASE("a sweep killed mid-way resumes to each point exactly once, as an uninterrupted one", "[sweep]") {
  const fs::path dir = write_sweep("resume", 16);  // about 0.3 s per point
  const std::string sweep = MOESIM + " sweep " + (dir / "sweep.json").string() + " --jobs 2 --out ";
  const fs::path killed = dir / "killed.jsonl", whole = dir / "whole.jsonl";
  // The uninterrupted run first, to time the kill at about 40 % of it.
  const auto start = std::chrono::steady_clock::now();
  REQUIRE(run_command(sweep + whole.string()).exit_code == 0);
  const double whole_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  run_command("timeout -s KILL " + std::to_string(std::max(0.2, 0.4 * whole_s)) + " " + sweep + killed.string());
  const size_t before = points_of(killed).size();
  INFO("lines when killed: " << before);
  CHECK(before < 24);  // it was stopped before the end
  const CommandResult resumed = run_command(sweep + killed.string());
  INFO(resumed.output);
  REQUIRE(resumed.exit_code == 0);
  CHECK_THAT(resumed.output, Catch::Contains(std::to_string(before) + " already in"));
  std::vector<size_t> expected(24);
  for (size_t i = 0; i < 24; ++i) expected[i] = i;
  CHECK(points_of(killed) == expected);
  CHECK(sorted_lines(killed) == sorted_lines(whole));
  // A file of another sweep is refused, not mixed in.
  std::ofstream(dir / "other.jsonl") << R"({"point": 0, "overrides": {"plan.ep": 16}})" << "\n";
  const CommandResult other = run_command(sweep + (dir / "other.jsonl").string());
  CHECK(other.exit_code == 1);
  CHECK_THAT(other.output, Catch::Contains("other.jsonl:1: not a line of this sweep"));
}

TEST_CASE("a sweep under mpirun -np 2 writes the lines of the same sweep in one process", "[.mpi]") {
  const fs::path dir = write_sweep("mpi");
  const std::string env = "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ";
  const fs::path one = dir / "one.jsonl", two = dir / "two.jsonl";
  REQUIRE(run_command(MOESIM + " sweep " + (dir / "sweep.json").string() + " --out " + one.string()).exit_code == 0);
  const CommandResult mpi = run_command(env + "mpirun -np 2 --oversubscribe --bind-to none " + MOESIM + " sweep " +
                                        (dir / "sweep.json").string() + " --out " + two.string());
  INFO(mpi.output);
  REQUIRE(mpi.exit_code == 0);
  CHECK(sorted_lines(two) == sorted_lines(one));
  CHECK_FALSE(fs::exists(two.string() + ".rank-1"));
}
