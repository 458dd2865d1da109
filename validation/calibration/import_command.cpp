#include "validation/calibration/import_command.hpp"

#include <algorithm>
#include <cmath>

#include "validation/calibration/calibrate_command.hpp"
#include "validation/calibration/fit.hpp"
#include "validation/calibration/kineto_trace.hpp"
#include "validation/text_table.hpp"

namespace moesim::calibration {

using text::fixed;
using text::lpad;
using text::pad;

namespace {

// Per class: count and duration statistics; then each distinct kernel name of the MoE classes.
int import_kineto(const std::vector<std::string>& paths, std::ostream& out) {
  for (const std::string& path : paths) {
    const KinetoTrace trace = read_kineto_trace(path);
    out << trace.source << ": " << trace.kernels.size() << " GPU kernels\n";
    out << "  " << pad("class", 14) << lpad("kernels", 8) << lpad("total ms", 11) << lpad("mean us", 11)
        << lpad("min us", 11) << lpad("max us", 11) << "\n";
    for (KernelClass c : {KernelClass::ALL_TO_ALL, KernelClass::GROUPED_GEMM, KernelClass::OTHER}) {
      std::vector<double> d;
      for (const TraceKernel& k : trace.kernels)
        if (k.kind == c) d.push_back(k.duration_s);
      if (d.empty()) continue;
      double total = 0;
      for (double x : d) total += x;
      out << "  " << pad(kernel_class_name(c), 14) << lpad(std::to_string(d.size()), 8) << lpad(fixed(total * 1e3, 3), 11)
          << lpad(fixed(total / d.size() * 1e6, 2), 11) << lpad(fixed(*std::min_element(d.begin(), d.end()) * 1e6, 2), 11)
          << lpad(fixed(*std::max_element(d.begin(), d.end()) * 1e6, 2), 11) << "\n";
    }
    out << "  kernels of the MoE classes, in trace order (start us from the first kernel, duration us):\n";
    const double t0 = trace.kernels.front().start_s;
    for (const TraceKernel& k : trace.kernels)
      if (k.kind != KernelClass::OTHER)
        out << "    " << pad(kernel_class_name(k.kind), 14) << lpad(fixed((k.start_s - t0) * 1e6, 2), 12)
            << lpad(fixed(k.duration_s * 1e6, 2), 11) << "  " << k.name << "\n";
    out << "\n";
  }
  return 0;
}

}  // namespace

int import_command(const std::vector<std::string>& args, std::ostream& out) {
  if (!args.empty() && args[0] == "kineto") {
    if (args.size() < 2) throw CalibrateUsageError("import kineto needs at least one trace");
    return import_kineto(std::vector<std::string>(args.begin() + 1, args.end()), out);
  }
  if (args.empty() || args[0] != "nccl-tests")
    throw CalibrateUsageError("import: expected `nccl-tests LOG ...` or `kineto TRACE.json ...`");
  if (args.size() < 2) throw CalibrateUsageError("import nccl-tests needs at least one log");
  std::vector<NcclTestsLog> logs;
  for (size_t i = 1; i < args.size(); ++i) logs.push_back(read_nccl_tests(args[i]));
  const LinkCalibration fit = fit_nccl_links(logs, 0);

  size_t row = 0;
  for (const NcclTestsLog& log : logs) {
    out << log.source << ": " << collective_name(log.collective) << ", " << log.ranks << " ranks on " << log.nodes
        << (log.nodes == 1 ? " node" : " nodes") << (log.device.empty() ? "" : ", " + log.device) << "\n";
    out << "  " << lpad("size B", 12) << lpad("time us", 11) << lpad("in-place us", 13) << lpad("busbw GB/s", 12)
        << lpad("fit us", 11) << lpad("error %", 9) << "\n";
    for (const NcclTestsRow& r : log.rows) {
      const Check* c = log.ranks >= 2 ? &fit.checks[row++] : nullptr;
      out << "  " << lpad(fixed(r.size_bytes, 0), 12) << lpad(fixed(r.out_of_place_s * 1e6, 2), 11)
          << lpad(r.in_place_s ? fixed(*r.in_place_s * 1e6, 2) : "N/A", 13) << lpad(fixed(r.busbw_GBps, 2), 12)
          << lpad(c ? fixed(c->predicted_s * 1e6, 2) : "-", 11) << lpad(c ? fixed(c->error_pct(), 1) : "-", 9) << "\n";
    }
    out << "\n";
  }
  for (const auto& [name, link] : {std::pair{"intra-node", fit.intra_node}, std::pair{"inter-node", fit.inter_node}})
    if (link)
      out << pad(name, 11) << "link: " << fixed(link->bandwidth_Bps / 1e9, 1) << " GB/s per GPU, latency "
          << fixed(link->latency_s * 1e6, 2) << " us (" << link->points << " sizes; `moesim calibrate --nccl-tests` "
          << "puts this in a profile)\n";
  return 0;
}

}  // namespace moesim::calibration
