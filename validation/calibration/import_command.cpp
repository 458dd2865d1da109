#include "validation/calibration/import_command.hpp"

#include <cmath>

#include "validation/calibration/calibrate_command.hpp"
#include "validation/calibration/fit.hpp"
#include "validation/text_table.hpp"

namespace moesim::calibration {

using text::fixed;
using text::lpad;
using text::pad;

int import_command(const std::vector<std::string>& args, std::ostream& out) {
  if (args.empty() || args[0] != "nccl-tests") throw CalibrateUsageError("import: expected `nccl-tests LOG ...`");
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
