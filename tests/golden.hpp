#pragma once
// Golden results: the key figures of a result.json kept in tests/golden/, each with its
// tolerance. MOESIM_UPDATE_GOLDEN=1 rewrites the files instead of comparing (see
// tests/golden/README.md: do it only for an intended change, and say why in the commit).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/helpers.hpp"

namespace moesim::test {

struct GoldenFigure {
  std::string pointer;  // JSON pointer into result.json
  double rel_tol = 0;
  double abs_tol = 0;
};

// Results are deterministic; the tolerances allow for floating-point differences between
// compilers and libm versions, not for modeling changes.
inline std::vector<GoldenFigure> golden_figures(const nlohmann::json& result) {
  std::vector<GoldenFigure> figures = {
      {"/step_time_s", 1e-6, 0},           {"/tokens/routed", 1e-9, 0},
      {"/tokens/dropped", 1e-9, 1e-6},     {"/tokens/drop_rate", 1e-6, 1e-12},
      {"/expert_load/max_over_mean", 1e-9, 0}, {"/expert_load/rank_max_over_mean", 1e-9, 0},
      {"/a2a_bytes/intra_node", 1e-9, 1e-3}, {"/a2a_bytes/inter_node", 1e-9, 1e-3},
      {"/memory_gib_per_gpu", 1e-9, 0},    {"/mfu", 1e-6, 0},
      {"/tokens_per_s", 1e-6, 0}};
  for (const auto& [part, seconds] : result["breakdown_s"].items())
    figures.push_back({"/breakdown_s/" + part, 1e-6, 1e-12});
  return figures;
}

inline void check_golden(const nlohmann::json& result, const std::filesystem::path& golden_file) {
  using nlohmann::json;
  const auto figures = golden_figures(result);
  if (const char* update = std::getenv("MOESIM_UPDATE_GOLDEN"); update && std::string(update) == "1") {
    json golden = {{"result", golden_file.stem().string()}, {"figures", json::object()}};
    for (const auto& f : figures)
      golden["figures"][f.pointer] = {{"value", result.at(json::json_pointer(f.pointer))},
                                      {"rel_tol", f.rel_tol},
                                      {"abs_tol", f.abs_tol}};
    std::filesystem::create_directories(golden_file.parent_path());
    std::ofstream(golden_file) << golden.dump(2) << "\n";
    return;
  }
  INFO("golden file " << golden_file.string() << " (rewrite with MOESIM_UPDATE_GOLDEN=1 only for an intended change)");
  REQUIRE(std::filesystem::exists(golden_file));
  const json golden = json::parse(read_file(golden_file.string()));
  CHECK(golden["figures"].size() == figures.size());
  for (const auto& f : figures) {
    INFO(f.pointer);
    REQUIRE(golden["figures"].contains(f.pointer));
    const json& g = golden["figures"][f.pointer];
    const double expected = g["value"].get<double>();
    const double actual = result.at(json::json_pointer(f.pointer)).get<double>();
    const double tolerance = std::max(g["abs_tol"].get<double>(), g["rel_tol"].get<double>() * std::abs(expected));
    CHECK(std::abs(actual - expected) <= tolerance);
    if (std::abs(actual - expected) > tolerance) WARN("expected " << expected << ", got " << actual);
  }
}

}  // namespace moesim::test
