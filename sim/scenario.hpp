#pragma once
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "hardware/cluster.hpp"
#include "hardware/input_error.hpp"
#include "models/model.hpp"
#include "models/parallel_plan.hpp"
#include "models/params.hpp"

namespace moesim {

// A pluggable component chosen by name, with its declared parameters filled in.
struct ComponentChoice {
  std::string name;
  Params params;
};

struct SimSpec {
  std::string engine = "analytic";              // analytic | des
  std::optional<int> routed_micro_batches;      // micro-batches routed token by token; none = all
  std::optional<int> routed_layers;             // MoE layers routed token by token; none = all
  int steps = 1;                                // steps routed in turn (routers / place commands)
  std::optional<int> replan_every;              // re-plan the placement every N steps; none = once
  std::string all_to_all = "flat";              // des: collective algorithm for all-to-alls
  std::string transfers = "grouped";            // des: grouped | per_pair
  int trace_gpus_per_stage = 8;                 // GPUs per stage whose spans go to trace.json
  std::optional<double> max_memory_gib;         // none: this machine's physical memory
  std::optional<double> max_wall_s;             // none: no limit
};

// Everything a run needs, parsed and validated once; the core never sees JSON.
struct Scenario {
  std::string source;  // file name, for messages
  std::string name;
  std::string profile;  // calibration profile applied to the cluster (path as resolved), or ""
  ClusterSpec cluster;
  ModelSpec model;
  ParallelPlan plan;
  ComponentChoice router;
  ComponentChoice scores;
  ComponentChoice placement;
  SimSpec sim;
};

// The top-level keys of a scenario file, with their help; the reader accepts exactly these.
struct ScenarioSection {
  const char* key;
  const char* help;
};
const std::vector<ScenarioSection>& scenario_sections();

Scenario parse_scenario(const std::string& text, const std::string& source);
Scenario load_scenario_file(const std::string& path);
Scenario default_scenario();

}  // namespace moesim
