#include "validation/calibration/calibrate_command.hpp"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>

#include "hardware/gpu.hpp"
#include "hardware/input_error.hpp"
#include "validation/calibration/fit.hpp"
#include "validation/text_table.hpp"

namespace moesim::calibration {

namespace {

using text::fixed;
using text::pad;

struct Args {
  std::vector<std::string> bench, nccl;
  std::string backend, gpu, checks_csv, output;
  int hold_out_every = 0;
};

Args parse_args(const std::vector<std::string>& args) {
  Args a;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) throw CalibrateUsageError(arg + " needs a value");
      return args[++i];
    };
    if (arg == "--bench") a.bench.push_back(value());
    else if (arg == "--nccl-tests") a.nccl.push_back(value());
    else if (arg == "--backend") a.backend = value();
    else if (arg == "--gpu") a.gpu = value();
    else if (arg == "--checks") a.checks_csv = value();
    else if (arg == "-o" || arg == "--out") a.output = value();
    else if (arg == "--hold-out") {
      const std::string v = value();
      char* end = nullptr;
      const long n = std::strtol(v.c_str(), &end, 10);
      if (end == v.c_str() || *end || n < 2) throw CalibrateUsageError("--hold-out " + v + ": expected an integer >= 2");
      a.hold_out_every = int(n);
    } else throw CalibrateUsageError("unknown argument " + arg);
  }
  if (a.bench.empty()) throw CalibrateUsageError("calibrate needs --bench B.json (moesim-bench output)");
  if (a.output.empty()) throw CalibrateUsageError("calibrate needs -o PROFILE.json");
  if (!a.backend.empty() && a.backend != "cpu" && a.backend != "cuda")
    throw CalibrateUsageError("--backend " + a.backend + ": expected cpu or cuda");
  if (!a.gpu.empty() && !gpu_presets().contains(a.gpu))
    throw CalibrateUsageError("--gpu " + a.gpu + ": not a GPU preset (" + gpu_presets().names_joined() + ")");
  return a;
}

void print_profile(std::ostream& out, const KernelProfile& p) {
  out << "calibrated " << (p.device.empty() ? "?" : p.device) << " on " << p.machine << " (" << p.date << ")\n";
  out << "  GEMM    " << fixed(p.gemm_flops_per_s / 1e12, 2) << " TFLOP/s (" << p.dtype << ")";
  if (const GpuSpec* gpu = gpu_presets().find(p.gpu_preset))
    out << ", " << fixed(p.gemm_flops_per_s / gpu->peak_flops(p.dtype == "fp8" ? Dtype::FP8 : Dtype::BF16), 3)
        << " of " << gpu->name << "'s datasheet peak";
  out << "; tile " << p.gemm_tile_rows << "x" << p.gemm_tile_cols << " in waves of " << p.compute_units
      << "; launch overhead " << fixed(p.gemm_overhead_s * 1e6, 2) << " us\n";
  out << "  memory  " << fixed(p.memory_Bps / 1e9, 1) << " GB/s (read + write)";
  if (const GpuSpec* gpu = gpu_presets().find(p.gpu_preset))
    out << ", " << fixed(p.memory_Bps / gpu->hbm_Bps, 3) << " of " << gpu->name << "'s HBM";
  out << "; kernel overhead " << fixed(p.kernel_overhead_s * 1e6, 2) << " us\n";
  for (const auto& [name, link] : {std::pair{"intra-node", p.intra_node}, std::pair{"inter-node", p.inter_node}})
    if (link)
      out << "  " << name << " " << fixed(link->bandwidth_Bps / 1e9, 1) << " GB/s, latency " << fixed(link->latency_s * 1e6, 2)
          << " us (" << link->points << " sizes)\n";
}

// Per kind: points and mean absolute percentage error, in the fit and held out.
void print_checks(std::ostream& out, const std::vector<Check>& checks) {
  struct Row {
    int fit = 0, held = 0;
    double fit_abs = 0, held_abs = 0, worst = 0;
    std::string worst_name;
  };
  std::map<std::string, Row> rows;
  for (const Check& c : checks) {
    Row& r = rows[c.kind];
    const double e = std::fabs(c.error_pct());
    if (c.in_fit) ++r.fit, r.fit_abs += e;
    else ++r.held, r.held_abs += e;
    if (!c.in_fit && e >= r.worst) r.worst = e, r.worst_name = c.name;
  }
  out << "\n" << pad("kernel", 16) << pad("in fit", 8) << pad("MAPE %", 9) << pad("held out", 10) << pad("MAPE %", 9)
      << "worst held-out point\n";
  for (const auto& [kind, r] : rows)
    out << pad(kind, 16) << pad(std::to_string(r.fit), 8) << pad(r.fit ? fixed(r.fit_abs / r.fit, 1) : "-", 9)
        << pad(std::to_string(r.held), 10) << pad(r.held ? fixed(r.held_abs / r.held, 1) : "-", 9)
        << (r.held ? r.worst_name + " (" + fixed(r.worst, 1) + " %)" : "") << "\n";
}

void write_checks_csv(const std::string& path, const std::vector<Check>& checks) {
  std::ofstream f(path);
  if (!f) throw InputError(path + ": cannot write the checks file");
  f << "name,kind,role,measured_us,predicted_us,error_pct\n";
  for (const Check& c : checks)
    f << c.name << "," << c.kind << "," << (c.in_fit ? "fit" : "held_out") << "," << fixed(c.measured_s * 1e6, 3) << ","
      << fixed(c.predicted_s * 1e6, 3) << "," << fixed(c.error_pct(), 2) << "\n";
}

}  // namespace

int calibrate_command(const std::vector<std::string>& args, std::ostream& out) {
  const Args a = parse_args(args);
  CalibrationInput in;
  for (const auto& b : a.bench) in.runs.push_back(read_bench_json(b));
  for (const auto& n : a.nccl) in.nccl.push_back(read_nccl_tests(n));
  in.backend = a.backend;
  in.gpu_preset = a.gpu;
  in.hold_out_every = a.hold_out_every;
  std::string command = "moesim calibrate";
  for (const auto& arg : args) command += " " + arg;
  in.commands.push_back(command);
  for (const BenchRun& r : in.runs)
    if (r.skipped || r.foreign)
      out << r.source << ": " << r.skipped << " entries reported an error, " << r.foreign
          << " are not moesim-bench cases: left out\n";

  const Calibration c = calibrate(in);
  print_profile(out, c.profile);
  print_checks(out, c.checks);
  std::ofstream f(a.output);
  if (!f) throw InputError(a.output + ": cannot write the profile");
  f << kernel_profile_json(c.profile);
  out << "\nwrote " << a.output << "\n";
  if (!a.checks_csv.empty()) {
    write_checks_csv(a.checks_csv, c.checks);
    out << "wrote " << a.checks_csv << "\n";
  }
  return 0;
}

}  // namespace moesim::calibration
