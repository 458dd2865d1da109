#include "validation/calibration/fit.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "hardware/input_error.hpp"

namespace moesim::calibration {

namespace {

bool is_fit_kind(KernelKind kind) { return kind == KernelKind::GEMM || kind == KernelKind::COPY; }

// Weighted least squares of t ~ a * x + b * y, a, b >= 0: relative errors (weights 1 / t^2),
// or absolute ones.
std::pair<double, double> least_squares(const std::vector<double>& x, const std::vector<double>& y,
                                        const std::vector<double>& t, bool relative) {
  double sxx = 0, sxy = 0, syy = 0, sxt = 0, syt = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    const double w = relative ? 1 / (t[i] * t[i]) : 1;
    sxx += w * x[i] * x[i], sxy += w * x[i] * y[i], syy += w * y[i] * y[i];
    sxt += w * x[i] * t[i], syt += w * y[i] * t[i];
  }
  const double det = sxx * syy - sxy * sxy;
  double a = det > 0 ? (sxt * syy - syt * sxy) / det : 0;
  double b = det > 0 ? (syt * sxx - sxt * sxy) / det : 0;
  if (a < 0 || det <= 0) a = 0, b = syt / syy;  // refit without the x term
  if (b < 0) b = 0, a = sxt / sxx;
  return {a, b};
}

// A fixed cost x plus a per-unit cost y: relative errors, so that small sizes count as much as
// large ones; when noise leaves no positive slope that way, absolute errors, where the large
// sizes (least disturbed by noise) decide the slope.
std::pair<double, double> fixed_plus_linear(const std::vector<double>& x, const std::vector<double>& y,
                                            const std::vector<double>& t) {
  const auto fit = least_squares(x, y, t, true);
  return fit.second > 0 ? fit : least_squares(x, y, t, false);
}

// Minimises f over x by coordinate search with halving steps: deterministic, derivative-free,
// enough for the two smooth parameters of the GEMM model.
std::vector<double> coordinate_search(const std::function<double(const std::vector<double>&)>& f,
                                      std::vector<double> x, std::vector<double> step) {
  double best = f(x);
  for (int iter = 0; iter < 2000; ++iter) {
    bool improved = false;
    for (size_t i = 0; i < x.size(); ++i)
      for (double sign : {1.0, -1.0}) {
        std::vector<double> y = x;
        y[i] += sign * step[i];
        const double v = f(y);
        if (v < best) best = v, x = y, improved = true;
      }
    if (!improved) {
      bool done = true;
      for (double& s : step) s /= 2, done = done && s < 1e-6;
      if (done) break;
    }
  }
  return x;
}

// The one hold-out rule for benchmark cases and nccl-tests rows: every n-th, counted from 1.
bool held_out_at(size_t index, int every) { return every > 0 && int(index % every) == every - 1; }

struct Split {
  std::vector<const Measurement*> fit, held_out;
};

Split split_measurements(const std::vector<const Measurement*>& ms, int hold_out_every) {
  Split s;
  std::map<KernelKind, int> seen;
  for (const Measurement* m : ms) {
    const int index = seen[m->kernel.kind]++;
    const bool held = !is_fit_kind(m->kernel.kind) || held_out_at(index, hold_out_every);
    (held ? s.held_out : s.fit).push_back(m);
  }
  return s;
}

void fit_memory(const std::vector<const Measurement*>& fit, KernelProfile& p) {
  std::vector<double> one, bytes, t;
  for (const Measurement* m : fit)
    if (m->kernel.kind == KernelKind::COPY) one.push_back(1), bytes.push_back(2 * m->kernel.bytes), t.push_back(m->time_s);
  if (t.size() < 2) throw InputError("calibration needs at least 2 copy measurements in the fit; found " + std::to_string(t.size()));
  const auto [overhead_s, s_per_byte] = fixed_plus_linear(one, bytes, t);
  if (s_per_byte <= 0) throw InputError("the copy times do not grow with size: memory bandwidth cannot be fitted");
  p.kernel_overhead_s = overhead_s;
  p.memory_Bps = 1 / s_per_byte;
}

double log_error_sum(const std::vector<const Measurement*>& ms, const KernelProfile& p) {
  if (ms.empty()) return 0;
  const CostModel cost = profile_cost_model(p, ms.front()->kernel.element_bytes);
  double sum = 0;
  for (const Measurement* m : ms) {
    const double e = std::log(predicted_s(m->kernel, cost) / m->time_s);
    sum += e * e;
  }
  return sum;
}

void fit_gemm(const std::vector<const Measurement*>& fit, KernelProfile& p) {
  std::vector<const Measurement*> gemms;
  double best_rate = 0, min_time = std::numeric_limits<double>::max();
  for (const Measurement* m : fit)
    if (m->kernel.kind == KernelKind::GEMM) {
      gemms.push_back(m);
      best_rate = std::max(best_rate, case_flops(m->kernel) / m->time_s);
      min_time = std::min(min_time, m->time_s);
    }
  if (gemms.size() < 3) throw InputError("calibration needs at least 3 GEMM measurements in the fit; found " + std::to_string(gemms.size()));
  double best = std::numeric_limits<double>::max();
  KernelProfile best_profile = p;
  // x = (ln FLOP/s, overhead / shortest GEMM time), for each output tile shape
  for (const auto& [rows, cols] : std::vector<std::pair<int, int>>{
           {16, 64}, {32, 64}, {64, 64}, {64, 128}, {128, 64}, {128, 128}, {128, 256}, {256, 128}, {256, 256}}) {
    KernelProfile q = p;
    q.gemm_tile_rows = rows;
    q.gemm_tile_cols = cols;
    const auto with = [&](const std::vector<double>& x) {
      KernelProfile r = q;
      r.gemm_flops_per_s = std::exp(x[0]);
      r.gemm_overhead_s = std::max(0.0, x[1]) * min_time;
      return r;
    };
    const auto x = coordinate_search([&](const std::vector<double>& x) { return log_error_sum(gemms, with(x)); },
                                     {std::log(best_rate), 0.25}, {0.5, 0.25});
    const double v = log_error_sum(gemms, with(x));
    if (v < best) best = v, best_profile = with(x);
  }
  p = best_profile;
}

LinkScope scope_of(const NcclTestsLog& log) { return log.nodes > 1 ? LinkScope::INTER_NODE : LinkScope::INTRA_NODE; }

// Per-GPU bytes on the scope's links and latency steps of one collective of `size` bytes,
// as CostModel times them (transfer_s for all-to-all, ring_allreduce_s for all-reduce).
std::pair<double, double> steps_and_bytes(const NcclTestsLog& log, double size) {
  const double n = log.ranks;
  if (log.collective == NcclCollective::ALL_REDUCE) return {2 * (n - 1), 2 * (n - 1) / n * size};
  const double peers_off_scope = scope_of(log) == LinkScope::INTER_NODE ? n - n / log.nodes : n - 1;
  return {1, size * peers_off_scope / n};
}

double predict_collective(const NcclTestsLog& log, double size, const CostModel& cost) {
  const LinkScope scope = scope_of(log);
  if (log.collective == NcclCollective::ALL_REDUCE) return cost.ring_allreduce_s(size, log.ranks, log.nodes);
  return cost.transfer_s(steps_and_bytes(log, size).second, scope);
}

void fit_links(const CalibrationInput& in, KernelProfile& p, std::vector<Check>& checks) {
  LinkCalibration links = fit_nccl_links(in.nccl, in.hold_out_every);
  p.intra_node = links.intra_node;
  p.inter_node = links.inter_node;
  checks.insert(checks.end(), links.checks.begin(), links.checks.end());
}

std::string choose_backend(const CalibrationInput& in) {
  if (!in.backend.empty()) return in.backend;
  for (const BenchRun& r : in.runs)
    for (const Measurement& m : r.measurements)
      if (m.kernel.backend == "cuda") return "cuda";
  return "cpu";
}

void describe_device(const CalibrationInput& in, const std::string& backend, KernelProfile& p) {
  for (const BenchRun& r : in.runs) {
    const auto get = [&](const char* key) { return r.context.count(key) ? r.context.at(key) : std::string(); };
    if (!p.machine.empty()) break;
    p.machine = get("host_name");
    p.date = get("date");
    const auto units = [&](const char* key) { return get(key).empty() ? 0 : std::atoi(get(key).c_str()); };
    if (backend == "cuda") p.device = get("moesim_cuda_device"), p.compute_units = units("moesim_cuda_sms");
    else p.device = "CPU, " + get("num_cpus") + " cores at " + get("mhz_per_cpu") + " MHz, " + get("moesim_cpu_blas"),
         p.compute_units = units(get("moesim_cpu_threads").empty() ? "num_cpus" : "moesim_cpu_threads");
    if (!get("moesim_command").empty()) p.commands.push_back(get("moesim_command"));
  }
  for (const auto& c : in.commands) p.commands.push_back(c);
  p.dtype = backend == "cuda" ? "bf16" : "fp32";
  p.gpu_preset = backend != "cuda" ? "" : (in.gpu_preset.empty() ? gpu_preset_of_device(p.device) : in.gpu_preset);
}

}  // namespace

std::string gpu_preset_of_device(const std::string& device) {
  std::string lower = device;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const auto& [needle, preset] : std::vector<std::pair<std::string, std::string>>{
           {"h200", "h200"}, {"h100", "h100-sxm"}, {"h800", "h800"}, {"a100", "a100-80g"}, {"b200", "b200"}, {"mi300x", "mi300x"}})
    if (lower.find(needle) != std::string::npos) return preset;
  return "";
}

LinkCalibration fit_nccl_links(const std::vector<NcclTestsLog>& logs, int hold_out_every) {
  LinkCalibration out;
  const auto held_out = [&](size_t i) { return held_out_at(i, hold_out_every); };
  for (LinkScope scope : {LinkScope::INTRA_NODE, LinkScope::INTER_NODE}) {
    std::vector<double> steps, bytes, t;
    for (const NcclTestsLog& log : logs) {
      if (scope_of(log) != scope || log.ranks < 2) continue;
      for (size_t i = 0; i < log.rows.size(); ++i) {
        if (held_out(i)) continue;
        const auto [s, b] = steps_and_bytes(log, log.rows[i].size_bytes);
        steps.push_back(s), bytes.push_back(b), t.push_back(log.rows[i].out_of_place_s);
      }
    }
    if (t.empty()) continue;
    if (t.size() < 2) throw InputError("an nccl-tests fit needs at least 2 sizes per link scope");
    const auto [latency_s, s_per_byte] = fixed_plus_linear(steps, bytes, t);
    if (s_per_byte <= 0) throw InputError("nccl-tests times do not grow with size: link bandwidth cannot be fitted");
    (scope == LinkScope::INTRA_NODE ? out.intra_node : out.inter_node) = LinkFit{1 / s_per_byte, latency_s, int(t.size())};
  }
  KernelProfile links_only;
  links_only.intra_node = out.intra_node;
  links_only.inter_node = out.inter_node;
  const CostModel cost = profile_cost_model(links_only, 2);
  for (const NcclTestsLog& log : logs) {
    if (log.ranks < 2) continue;
    for (size_t i = 0; i < log.rows.size(); ++i) {
      const NcclTestsRow& row = log.rows[i];
      out.checks.push_back({"nccl/" + collective_name(log.collective) + "/ranks=" + std::to_string(log.ranks) +
                                "/nodes=" + std::to_string(log.nodes) + "/bytes=" + std::to_string(int64_t(row.size_bytes)),
                            "nccl_" + collective_name(log.collective), row.out_of_place_s,
                            predict_collective(log, row.size_bytes, cost), !held_out(i)});
    }
  }
  return out;
}

CostModel profile_cost_model(const KernelProfile& p, double element_bytes) {
  ClusterSpec c;
  c.name = "profile";
  c.gpu.name = p.device;
  c.gpu.peak_bf16_flops = c.gpu.peak_fp8_flops = p.gemm_flops_per_s;  // the profile's own dtype
  c.gpu.hbm_Bps = p.memory_Bps;
  c.gemm_efficiency = 1;
  c.fp8_gemm_efficiency = 1;
  c.hbm_efficiency = 1;
  c.nvlink_efficiency = 1;  // the fitted link rates are payload rates
  c.nic_efficiency = 1;
  c.nccl_latencies = false;  // and the fitted latencies are per ring step
  c.gemm_tile_rows = p.gemm_tile_rows;
  c.gemm_tile_cols = p.gemm_tile_cols;
  c.gpu.sms = p.compute_units;
  c.gemm_overhead_s = p.gemm_overhead_s;
  c.kernel_overhead_s = p.kernel_overhead_s;
  if (p.intra_node) c.nvlink_Bps = p.intra_node->bandwidth_Bps, c.nvlink_latency_s = p.intra_node->latency_s;
  if (p.inter_node) c.nic_Bps = p.inter_node->bandwidth_Bps, c.nic_latency_s = p.inter_node->latency_s;
  return CostModel(c, element_bytes >= 4 ? Dtype::FP32 : element_bytes >= 2 ? Dtype::BF16 : Dtype::FP8);
}

Calibration calibrate(const CalibrationInput& in) {
  Calibration out;
  KernelProfile& p = out.profile;
  const std::string backend = choose_backend(in);
  describe_device(in, backend, p);
  std::vector<const Measurement*> ms;
  for (const BenchRun& r : in.runs)
    for (const Measurement& m : r.measurements)
      if (m.kernel.backend == backend) ms.push_back(&m);
  if (ms.empty() && in.nccl.empty()) throw InputError("no " + backend + " measurements to calibrate from");
  if (!ms.empty()) {
    const Split split = split_measurements(ms, in.hold_out_every);
    fit_memory(split.fit, p);
    fit_gemm(split.fit, p);
    const CostModel cost = profile_cost_model(p, ms.front()->kernel.element_bytes);
    for (const auto& [group, in_fit] : {std::pair{&split.fit, true}, std::pair{&split.held_out, false}})
      for (const Measurement* m : *group)
        out.checks.push_back({m->name, kernel_kind_name(m->kernel.kind), m->time_s, predicted_s(m->kernel, cost), in_fit});
  }
  fit_links(in, p, out.checks);
  return out;
}

}  // namespace moesim::calibration
