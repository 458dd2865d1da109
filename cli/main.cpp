// The moesim command. Only this file turns errors into exit codes.
#include <iostream>
#include <string>
#include <vector>

#include <xbt/base.h>  // SimGrid macros that version.h expects
#include <simgrid/version.h>

#include "hardware/cluster.hpp"
#include "hardware/gpu.hpp"
#include "hardware/kernel_profile.hpp"
#include "cli/compare_command.hpp"
#include "cli/plan_command.hpp"
#include "cli/usage.hpp"
#include "cli/sweep_command.hpp"
#include "models/model.hpp"
#include "models/placement/placement.hpp"
#include "models/routing/router.hpp"
#include "models/scores/score_source.hpp"
#include "sim/des/collectives.hpp"
#include "sim/chrome_trace.hpp"
#include "sim/limits.hpp"
#include "sim/report_html.hpp"
#include "sim/result_json.hpp"
#include "sim/schema.hpp"
#include "sim/simulate.hpp"
#include "sim/summary_table.hpp"
#include "validation/calibration/calibrate_command.hpp"
#include "validation/calibration/import_command.hpp"
#include "validation/validate/validate_command.hpp"

namespace {

using namespace moesim;

constexpr const char* USAGE =
    "usage: moesim run [SCENARIO] [--out DIR] [--engine analytic|des] [--profile PROFILE.json]\n"
    "       moesim estimate SCENARIO [--out DIR] [--profile PROFILE.json]\n"
    "       moesim calibrate --bench B.json [...] -o PROFILE.json   (moesim calibrate --help)\n"
    "       moesim validate DATASET [--profile PROFILE.json] [--op OP] [--out DIR]\n"
    "       moesim import nccl-tests [alltoall=|all_reduce=]LOG [...]\n"
    "       moesim import kineto TRACE.json [...]\n"
    "       moesim routers [SCENARIO] --policies P[,P...] [--steps N] [--out DIR]\n"
    "       moesim place [SCENARIO] --strategies S[,S...] [--steps N] [--out DIR]\n"
    "       moesim plan [SCENARIO] [--gpus N] [--top K] [--refine R] [--max-cp C] [--out DIR]\n"
    "       moesim sweep SWEEP.json [--jobs N] [--shard I/N] --out FILE.jsonl\n"
    "       moesim presets\n"
    "       moesim schema [--markdown]\n"
    "       moesim version\n";

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct RunArgs {
  std::string scenario;
  std::string out_dir;
  std::string engine;
  std::string profile;
};

RunArgs parse_run_args(const std::vector<std::string>& args, bool allow_engine) {
  RunArgs a;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--out") a.out_dir = option_value<UsageError>(args, i);
    else if (arg == "--engine" && allow_engine) a.engine = option_value<UsageError>(args, i);
    else if (arg == "--profile") a.profile = option_value<UsageError>(args, i);
    else if (arg.rfind("--", 0) == 0) throw UsageError("unknown option " + arg);
    else if (a.scenario.empty()) a.scenario = arg;
    else throw UsageError("more than one scenario given: " + a.scenario + ", " + arg);
  }
  if (!a.engine.empty() && a.engine != "analytic" && a.engine != "des")
    throw UsageError("--engine " + a.engine + ": expected analytic or des");
  return a;
}

int run(const RunArgs& a) {
  Scenario scenario = a.scenario.empty() ? default_scenario() : load_scenario_file(a.scenario);
  if (!a.engine.empty()) scenario.sim.engine = a.engine;
  if (!a.profile.empty()) scenario.cluster = apply_profile(scenario.cluster, read_kernel_profile(a.profile), a.profile);
  const Simulation sim = simulate_step(scenario);
  print_summary(std::cout, sim.result, scenario);
  if (!a.out_dir.empty()) {
    const std::string path = write_result_json(result_to_json(sim.result, scenario), a.out_dir);
    const std::string trace = write_chrome_trace(a.out_dir, sim.program, sim.timelines, scenario.cluster);
    const std::string report = write_report_html(a.out_dir, sim, scenario);
    std::cout << "\nwrote " << path << "\n      " << trace << " (open in https://ui.perfetto.dev)\n      " << report
              << "\n";
  }
  return 0;
}

template <class Entry>
void list(const char* title, const Registry<Entry>& registry) {
  std::cout << title << "\n";
  for (const auto& name : registry.names()) {
    std::cout << "  " << name << std::string(name.size() < 18 ? 18 - name.size() : 1, ' ') << registry.description(name) << "\n";
    if constexpr (requires(const Entry& e) { e.params; }) {
      for (const auto& p : registry.find(name)->params)
        std::cout << "      " << p.name << " (" << p.type_name() << ", default " << param_value_text(p.default_value)
                  << "): " << p.help << "\n";
    }
  }
  std::cout << "\n";
}

int presets() {
  list("GPUs", gpu_presets());
  list("clusters", cluster_presets());
  list("models", model_presets());
  list("router policies (router.policy)", router_policies());
  list("score sources (scores.source)", score_sources());
  list("placements (placement.strategy)", placement_strategies());
  list("all-to-all algorithms (sim.all_to_all, engine des)", all_to_all_algorithms());
  return 0;
}

int dispatch(const std::vector<std::string>& argv) {
  if (argv.empty()) throw UsageError("no command given");
  const std::string& verb = argv[0];
  const std::vector<std::string> rest(argv.begin() + 1, argv.end());
  if (verb == "run") return run(parse_run_args(rest, true));
  if (verb == "estimate") {
    RunArgs a = parse_run_args(rest, false);
    if (a.scenario.empty()) throw UsageError("estimate needs a scenario file");
    a.engine = "analytic";
    return run(a);
  }
  if (verb == "presets") return presets();
  if (verb == "plan") {
    try {
      return plan_command(rest, std::cout);
    } catch (const CommandUsageError& e) {
      throw UsageError(e.what());
    }
  }
  if (verb == "sweep") {
    try {
      return sweep_command(rest, std::cout);
    } catch (const CommandUsageError& e) {
      throw UsageError(e.what());
    }
  }
  if (verb == "schema") {
    if (rest.size() > 1 || (rest.size() == 1 && rest[0] != "--markdown")) throw UsageError("schema takes only --markdown");
    std::cout << (rest.empty() ? schema_text(scenario_schema()) : schema_markdown(scenario_schema()));
    return 0;
  }
  if (verb == "routers" || verb == "place") {
    const CompareWhat what = verb == "routers" ? CompareWhat::ROUTERS : CompareWhat::PLACEMENTS;
    try {
      return compare_command(what, rest, std::cout);
    } catch (const CommandUsageError& e) {
      throw UsageError(e.what());
    }
  }
  if (verb == "import") {
    try {
      return calibration::import_command(rest, std::cout);
    } catch (const calibration::CalibrateUsageError& e) {
      throw UsageError(e.what());
    }
  }
  if (verb == "validate") {
    try {
      return validation::validate_command(rest, std::cout);
    } catch (const validation::ValidateUsageError& e) {
      throw UsageError(e.what());
    }
  }
  if (verb == "calibrate") {
    if (rest.size() == 1 && (rest[0] == "--help" || rest[0] == "-h")) {
      std::cout << "usage: " << calibration::CALIBRATE_USAGE;
      return 0;
    }
    try {
      return calibration::calibrate_command(rest, std::cout);
    } catch (const calibration::CalibrateUsageError& e) {
      throw UsageError(std::string(e.what()) + "\nusage: " + calibration::CALIBRATE_USAGE);
    }
  }
  if (verb == "version") {
    int major, minor, patch;
    sg_version_get(&major, &minor, &patch);
    std::cout << "moesim 0.1.0 (SimGrid " << major << "." << minor << "." << patch << ")\n";
    return 0;
  }
  if (verb == "--help" || verb == "-h" || verb == "help") {
    std::cout << USAGE;
    return 0;
  }
  throw UsageError("unknown command '" + verb + "'");
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return dispatch(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const UsageError& e) {
    std::cerr << "moesim: " << e.what() << "\n" << USAGE;
    return 2;
  } catch (const InputError& e) {
    std::cerr << "moesim: error: " << e.what() << "\n";
    return 1;
  } catch (const NotAvailable& e) {
    std::cerr << "moesim: " << e.what() << "\n";
    return 3;
  } catch (const ResourceLimit& e) {
    std::cerr << "moesim: limit: " << e.what() << "\n";
    return 5;
  } catch (const std::exception& e) {
    std::cerr << "moesim: internal error: " << e.what() << "\n";
    return 4;
  }
}
