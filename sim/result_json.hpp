#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "sim/result.hpp"
#include "sim/scenario.hpp"

namespace moesim {

// The resolved scenario: every key with the value used (presets expanded), in JSON units.
nlohmann::json scenario_to_json(const Scenario& scenario);
// A cluster as the scenario's cluster section, every field written (no preset needed to read it back).
nlohmann::json cluster_to_json(const ClusterSpec& cluster);
// result.json: the keys of DESIGN.md's StepResult, plus the resolved scenario.
nlohmann::json result_to_json(const StepResult& result, const Scenario& scenario);
// Writes DIR/result.json (creating DIR); returns the file's path.
std::string write_result_json(const nlohmann::json& result, const std::string& dir);

}  // namespace moesim
