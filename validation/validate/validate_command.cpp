#include "validation/validate/validate_command.hpp"

#include "sim/progress.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>

#include <nlohmann/json.hpp>

#include "hardware/input_error.hpp"
#include "validation/text_table.hpp"
#include "validation/validate/predict.hpp"

namespace moesim::validation {

namespace {

using text::fixed;
using text::lpad;
using text::pad;

struct Args {
  std::string dataset, profile, op, out_dir;
};

Args parse_args(const std::vector<std::string>& args) {
  Args a;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) throw ValidateUsageError(arg + " needs a value");
      return args[++i];
    };
    if (arg == "--profile") a.profile = value();
    else if (arg == "--op") a.op = value();
    else if (arg == "--out") a.out_dir = value();
    else if (arg.rfind("--", 0) == 0) throw ValidateUsageError("unknown option " + arg);
    else if (a.dataset.empty()) a.dataset = arg;
    else throw ValidateUsageError("more than one dataset given");
  }
  if (a.dataset.empty()) throw ValidateUsageError("validate needs a dataset (moesim-validation/1 JSON)");
  if (!a.op.empty() && !predictors().contains(a.op))
    throw ValidateUsageError("--op " + a.op + ": expected one of " + predictors().names_joined());
  return a;
}

struct Row {
  const ValidationPoint* point;
  Prediction prediction;
  // A relative error needs a measured value other than zero (a statistic can be 0, e.g. no
  // drops at a large capacity): such a point shows its absolute difference, outside the MAPE.
  bool relative() const { return point->metric.value != 0; }
  double error_pct() const { return 100 * (prediction.metric - point->metric.value) / point->metric.value; }
};


void print_rows(std::ostream& out, const std::vector<Row>& rows) {
  out << pad("id", 58) << pad("metric", 22) << lpad("measured", 11) << lpad("predicted", 11) << lpad("error %", 9)
      << "  confidence\n";
  for (const Row& r : rows) {
    if (!r.prediction.supported) continue;
    out << pad(r.point->id, 58) << pad(r.point->metric.name, 22) << lpad(fixed(r.point->metric.value, 2), 11)
        << lpad(fixed(r.prediction.metric, 2), 11) << lpad(r.relative() ? fixed(r.error_pct(), 1) : "n/a", 9) << "  "
        << r.point->confidence << (r.relative() ? "" : " (measured 0: not in the MAPE)") << "\n";
  }
}

// The runs were measured, so each fits its GPUs' memory: a run moesim's memory model does not
// fit is named.
void print_memory_misses(std::ostream& out, const std::vector<Row>& rows) {
  int asked = 0;
  std::vector<std::string> misses;
  for (const Row& r : rows) {
    if (!r.prediction.fits_memory) continue;
    ++asked;
    if (!*r.prediction.fits_memory) misses.push_back(r.point->id);
  }
  if (asked == 0) return;
  out << "\nmemory: " << asked - int(misses.size()) << " of " << asked
      << " simulated training steps fit in moesim's memory model" << (misses.empty() ? "" : "; not:") << "\n";
  for (const std::string& id : misses) out << "  " << id << "\n";
}

// Points, simulated ones, and the signed errors of those in the MAPE (confidence medium or
// high, measured non-zero), over one family or one slice of it. Beside the MAPE: the mean
// signed error (bias: positive where moesim predicts more than was measured, whatever the
// metric) and the median absolute error, which a few far points do not move.
struct Tally {
  int points = 0, supported = 0;
  std::vector<double> errors_pct;
  void add(const Row& r) {
    ++points;
    if (!r.prediction.supported) return;
    ++supported;
    if (r.point->confidence == "low" || !r.relative()) return;
    errors_pct.push_back(r.error_pct());
  }
  int in_mean() const { return int(errors_pct.size()); }
  double mape() const {
    double sum = 0;
    for (double e : errors_pct) sum += std::fabs(e);
    return sum / in_mean();
  }
  double bias() const { return std::accumulate(errors_pct.begin(), errors_pct.end(), 0.0) / in_mean(); }
  double median_abs() const {
    std::vector<double> a;
    for (double e : errors_pct) a.push_back(std::fabs(e));
    std::sort(a.begin(), a.end());
    const size_t n = a.size();
    return n % 2 ? a[n / 2] : (a[n / 2 - 1] + a[n / 2]) / 2;
  }
};

void print_tally_header(std::ostream& out, const std::string& first_column) {
  out << "\n" << pad(first_column, 20) << lpad("points", 7) << lpad("simulated", 10) << lpad("in MAPE", 9) << lpad("MAPE %", 9)
      << lpad("bias %", 9) << lpad("median %", 10) << "\n";
}

void print_tally(std::ostream& out, const std::string& name, const Tally& t) {
  const bool any = t.in_mean() > 0;
  out << pad(name, 20) << lpad(std::to_string(t.points), 7) << lpad(std::to_string(t.supported), 10)
      << lpad(std::to_string(t.in_mean()), 9) << lpad(any ? fixed(t.mape(), 1) : "-", 9)
      << lpad(any ? fixed(t.bias(), 1) : "-", 9) << lpad(any ? fixed(t.median_abs(), 1) : "-", 10) << "\n";
}

// A training step's software release, short: "NeMo 26.02" out of "Megatron-Bridge /
// Megatron-Core (NeMo 26.02)", else the framework up to its first parenthesis.
std::string release_label(const std::string& framework) {
  if (framework.empty()) return "(not stated)";
  const size_t nemo = framework.find("(NeMo ");
  if (nemo != std::string::npos) return framework.substr(nemo + 1, framework.find(')', nemo) - nemo - 1);
  return framework.substr(0, framework.find(" ("));
}

// Training steps sliced by model, by GPU and by release: where a family's MAPE comes from.
void print_train_step_slices(std::ostream& out, const std::vector<Row>& rows) {
  std::map<std::string, Tally> by_model, by_gpu, by_release;
  for (const Row& r : rows) {
    if (r.point->family != "train_step") continue;
    by_model[r.point->params.text("model")].add(r);
    by_gpu[r.point->cluster.gpu].add(r);
    by_release[release_label(r.point->params.text("framework"))].add(r);
  }
  if (by_model.size() < 2 && by_gpu.size() < 2 && by_release.size() < 2) return;
  for (const auto& [title, slices] : {std::pair{"train_step by model", &by_model}, std::pair{"train_step by GPU", &by_gpu},
                                      std::pair{"train_step by release", &by_release}}) {
    print_tally_header(out, title);
    for (const auto& [name, t] : *slices) print_tally(out, "  " + name, t);
  }
}

void print_summary(std::ostream& out, const std::vector<Row>& rows) {
  std::map<std::string, Tally> families;
  Tally all;
  std::map<std::string, int> reasons;
  for (const Row& r : rows) {
    families[r.point->family].add(r), all.add(r);
    if (!r.prediction.supported) ++reasons[r.prediction.reason];
  }
  print_tally_header(out, "family");
  for (const auto& [name, f] : families) print_tally(out, name, f);
  print_tally(out, "overall", all);
  print_train_step_slices(out, rows);
  print_memory_misses(out, rows);
  if (!reasons.empty()) {
    out << "\nnot simulated (" << all.points - all.supported << " points):\n";
    for (const auto& [reason, n] : reasons) out << "  " << lpad(std::to_string(n), 4) << "  " << reason << "\n";
  }
}

// Each simulated scenario as DIR/scenarios/ID.json; returns the ids that are not plain file
// names (letters, digits, '-', '_', '.'), whose scenarios are not written.
std::vector<std::string> write_scenarios(const std::string& dir, const std::vector<Row>& rows) {
  std::vector<std::string> not_written;
  for (const Row& r : rows) {
    if (r.prediction.scenario_json.empty()) continue;
    const std::string& id = r.point->id;
    const bool plain = !id.empty() && id[0] != '.' && std::all_of(id.begin(), id.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
    });
    if (!plain) {
      not_written.push_back(id);
      continue;
    }
    std::filesystem::create_directories(dir + "/scenarios");
    const std::string path = dir + "/scenarios/" + id + ".json";
    std::ofstream f(path);
    if (!f) throw InputError(path + ": cannot write");
    f << r.prediction.scenario_json << "\n";
  }
  return not_written;
}

void write_json(const std::string& dir, const std::vector<Row>& rows) {
  std::filesystem::create_directories(dir);
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const Row& r : rows) {
    nlohmann::ordered_json e = {{"id", r.point->id},       {"family", r.point->family},
                                {"metric", r.point->metric.name}, {"measured", r.point->metric.value},
                                {"confidence", r.point->confidence}, {"supported", r.prediction.supported}};
    if (r.prediction.supported) {
      e["predicted"] = r.prediction.metric;
      e["error_pct"] = r.relative() ? nlohmann::ordered_json(r.error_pct()) : nlohmann::ordered_json(nullptr);
      if (!r.relative()) e["abs_error"] = r.prediction.metric - r.point->metric.value;
      e["predicted_time_s"] = r.prediction.time_s;
      if (!r.prediction.note.empty()) e["how"] = r.prediction.note;
      if (r.prediction.fits_memory) e["fits_memory"] = *r.prediction.fits_memory;
    } else {
      e["predicted"] = nullptr;
      e["error_pct"] = nullptr;
      e["reason"] = r.prediction.reason;
    }
    list.push_back(e);
  }
  const std::string path = dir + "/validation.json";
  std::ofstream f(path);
  if (!f) throw InputError(path + ": cannot write");
  f << list.dump(2) << "\n";
}

}  // namespace

int validate_command(const std::vector<std::string>& args, std::ostream& out) {
  const Args a = parse_args(args);
  const std::vector<ValidationPoint> points = read_validation_dataset(a.dataset);
  PredictContext ctx;
  if (!a.profile.empty()) ctx.profile = read_kernel_profile(a.profile), ctx.profile_source = a.profile;
  std::vector<Row> rows;
  ProgressLine progress("validate", double(points.size()));
  for (size_t i = 0; i < points.size(); ++i) {
    const ValidationPoint& p = points[i];
    progress.update(double(i), p.id);
    if (!a.op.empty() && p.op != a.op) continue;
    rows.push_back({&p, predict(p, ctx)});
  }
  progress.finish();
  print_rows(out, rows);
  print_summary(out, rows);
  if (!a.out_dir.empty()) {
    write_json(a.out_dir, rows);
    for (const std::string& id : write_scenarios(a.out_dir, rows))
      out << "scenario of " << id << " not written: its id is not a plain file name\n";
    out << "\nwrote " << a.out_dir << "/validation.json (and each training step's scenario in "
        << a.out_dir << "/scenarios/)\n";
  }
  return 0;
}

}  // namespace moesim::validation
