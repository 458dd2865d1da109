#include "validation/calibration/bench_reader.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "hardware/input_error.hpp"
#include "hardware/input_file.hpp"

namespace moesim::calibration {

namespace {

using json = nlohmann::json;

// Fields Google Benchmark writes into every entry; the remaining numbers are user counters.
const std::set<std::string> STANDARD_FIELDS = {
    "name", "family_index", "per_family_instance_index", "run_name", "run_type", "repetitions",
    "repetition_index", "threads", "iterations", "real_time", "cpu_time", "time_unit", "aggregate_name",
    "aggregate_unit", "error_occurred", "error_message", "label", "big_o", "rms", "complexity_n",
    "bytes_per_second", "items_per_second", "FLOPS", "launches_per_iteration"};

double seconds_per(const std::string& unit) {
  if (unit == "ns") return 1e-9;
  if (unit == "us") return 1e-6;
  if (unit == "ms") return 1e-3;
  if (unit == "s") return 1;
  return 0;
}

// "cuda/gemm/m=1/..." -> backend and kind, or false for a name that is not a moesim-bench case.
bool parse_case_name(const std::string& name, std::string& backend, KernelKind& kind) {
  const size_t a = name.find('/');
  if (a == std::string::npos) return false;
  const size_t b = name.find('/', a + 1);
  backend = name.substr(0, a);
  if (backend != "cpu" && backend != "cuda") return false;
  const std::string kind_name = name.substr(a + 1, b == std::string::npos ? std::string::npos : b - a - 1);
  for (const auto& [k, n] : kernel_kind_names())
    if (n == kind_name) {
      kind = k;
      return true;
    }
  return false;
}

struct Pending {
  Measurement first;
  std::vector<double> times;
};

}  // namespace

namespace {

BenchRun parse_bench_document(const std::string& text, const std::string& source) {
  const json doc = json::parse(text, nullptr, false);
  const auto fail = [&](const std::string& path, const std::string& what) -> void {
    throw InputError(source + ": " + path + ": " + what);
  };
  if (doc.is_discarded()) fail("/", "not valid JSON (expected Google Benchmark output, --benchmark_out_format=json)");
  if (!doc.is_object() || !doc.contains("benchmarks") || !doc.at("benchmarks").is_array())
    fail("/benchmarks", "missing; expected Google Benchmark JSON output (--benchmark_out_format=json)");
  BenchRun run;
  run.source = source;
  if (doc.contains("context") && doc.at("context").is_object())
    for (const auto& [key, value] : doc.at("context").items())
      run.context[key] = value.is_string() ? value.get<std::string>() : value.dump();

  std::vector<std::string> order;
  std::map<std::string, Pending> by_name;
  const json& entries = doc.at("benchmarks");
  for (size_t i = 0; i < entries.size(); ++i) {
    const json& e = entries[i];
    const std::string path = "/benchmarks/" + std::to_string(i);
    if (!e.is_object() || !e.contains("name") || !e.at("name").is_string()) fail(path + "/name", "missing; expected a string");
    std::string name = e.at("name").get<std::string>();
    name = name.substr(0, name.find("/min_time:"));  // Google Benchmark's suffixes
    // Optional fields, type-checked: a field of another type is an error naming it.
    const auto field = [&](const char* key, const json& fallback) -> json {
      if (!e.contains(key)) return fallback;
      const json& v = e.at(key);
      if (v.type() != fallback.type() && !(v.is_number() && fallback.is_number()))
        fail(path + "/" + key, "expected a " + std::string(fallback.type_name()) + ", got " + v.dump());
      return v;
    };
    if (field("run_type", "iteration") != "iteration") continue;  // aggregates: we take our own median
    std::string backend;
    KernelKind kind{};
    if (!parse_case_name(name, backend, kind)) {
      ++run.foreign;
      continue;
    }
    if (field("error_occurred", false).get<bool>()) {
      ++run.skipped;
      continue;
    }
    if (!e.contains("real_time") || !e.at("real_time").is_number()) fail(path + "/real_time", "missing; expected a number");
    const double unit = seconds_per(field("time_unit", "?").get<std::string>());
    if (unit == 0) fail(path + "/time_unit", "expected ns, us, ms or s");
    // A batch of back-to-back launches per iteration (moesim-bench CUDA): time per launch.
    const double launches = field("launches_per_iteration", 1.0).get<double>();
    if (!(launches >= 1)) fail(path + "/launches_per_iteration", "expected a number >= 1");
    const double time_s = e.at("real_time").get<double>() * unit / launches;
    if (!(time_s > 0) || !std::isfinite(time_s)) fail(path + "/real_time", "expected a time > 0");
    std::map<std::string, double> counters;
    for (const auto& [key, value] : e.items())
      if (!STANDARD_FIELDS.count(key) && value.is_number()) counters[key] = value.get<double>();
    Measurement m{name, case_from_counters(backend, kind, counters, source + ": " + path), time_s};
    auto [it, fresh] = by_name.try_emplace(name, Pending{m, {}});
    if (fresh) order.push_back(name);
    it->second.times.push_back(time_s);
  }
  for (const auto& name : order) {
    Pending& p = by_name.at(name);
    std::sort(p.times.begin(), p.times.end());
    const size_t n = p.times.size();
    p.first.time_s = n % 2 ? p.times[n / 2] : (p.times[n / 2 - 1] + p.times[n / 2]) / 2;
    run.measurements.push_back(p.first);
  }
  return run;
}

}  // namespace

// Any JSON library error the checks above missed still names the file (a safety net: the
// fuzzer found one once, tests/fuzz/regressions/bench_json/).
BenchRun parse_bench_json(const std::string& text, const std::string& source) {
  try {
    return parse_bench_document(text, source);
  } catch (const json::exception& e) {
    throw InputError(source + ": " + e.what());
  }
}

BenchRun read_bench_json(const std::string& path) {
  return parse_bench_json(read_input_file(path, "benchmark output"), path);
}

}  // namespace moesim::calibration
