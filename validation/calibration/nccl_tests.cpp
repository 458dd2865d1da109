#include "validation/calibration/nccl_tests.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "hardware/input_error.hpp"
#include "hardware/input_file.hpp"

namespace moesim::calibration {

namespace {

std::vector<std::string> words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::optional<double> number(const std::string& w) {
  if (w == "N/A") return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(w.c_str(), &end);
  if (end == w.c_str() || *end != '\0' || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<NcclCollective> collective_from(const std::string& text) {
  std::string lower = text;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower.find("alltoall") != std::string::npos || lower.find("all_to_all") != std::string::npos)
    return NcclCollective::ALL_TO_ALL;
  if (lower.find("all_reduce") != std::string::npos || lower.find("allreduce") != std::string::npos)
    return NcclCollective::ALL_REDUCE;
  return std::nullopt;
}

}  // namespace

std::string collective_name(NcclCollective c) { return c == NcclCollective::ALL_TO_ALL ? "alltoall" : "all_reduce"; }

NcclTestsLog parse_nccl_tests(const std::string& text, NcclCollective collective, const std::string& source) {
  NcclTestsLog log;
  log.source = source;
  log.collective = collective;
  std::set<std::string> hosts;
  std::vector<std::string> columns;  // header words after '#': size count type ... time algbw busbw ...
  std::istringstream in(text);
  int line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    const std::string where = source + ":" + std::to_string(line_no);
    const auto w = words(line);
    if (w.empty()) continue;
    if (w[0] == "#") {
      // "#  Rank  0 Group  0 Pid 1234 on node01 device  0 [0x18] NVIDIA H100 80GB HBM3"
      const auto on = std::find(w.begin(), w.end(), "on");
      if (w.size() > 2 && w[1] == "Rank" && on != w.end() && on + 1 != w.end()) {
        ++log.ranks;
        hosts.insert(*(on + 1));
        const auto bracket = std::find_if(on, w.end(), [](const std::string& s) { return s.front() == '['; });
        if (log.device.empty() && bracket != w.end())
          for (auto it = bracket + 1; it != w.end(); ++it) log.device += (log.device.empty() ? "" : " ") + *it;
      } else if (std::find(w.begin(), w.end(), "size") != w.end() && std::find(w.begin(), w.end(), "time") != w.end()) {
        columns.assign(w.begin() + 1, w.end());
      }
      continue;
    }
    // Lines before the table, and NCCL INFO or warning lines inside it, start with a word;
    // table rows start with the size.
    if (columns.empty() || !number(w[0])) continue;
    if (w.size() != columns.size())
      throw InputError(where + ": a table row with " + std::to_string(w.size()) + " fields; the header has " +
                       std::to_string(columns.size()));
    NcclTestsRow row;
    int times_seen = 0;
    for (size_t i = 0; i < w.size(); ++i) {
      const auto v = number(w[i]);
      const std::string& col = columns[i];
      if (col == "size") {
        if (!v || *v < 0) throw InputError(where + ": size \"" + w[i] + "\" is not a byte count");
        row.size_bytes = *v;
      } else if (col == "time") {
        if (times_seen++ == 0) {
          if (!v || *v <= 0) throw InputError(where + ": out-of-place time \"" + w[i] + "\" is not a time in us");
          row.out_of_place_s = *v * 1e-6;
        } else if (v && *v > 0) {
          row.in_place_s = *v * 1e-6;
        }
      } else if (col == "busbw" && times_seen == 1 && v) {
        row.busbw_GBps = *v;
      }
    }
    if (times_seen == 0) throw InputError(where + ": the table header has no time column");
    if (row.size_bytes > 0) log.rows.push_back(row);
  }
  if (log.ranks == 0)
    throw InputError(source + ": no \"#  Rank N Group G Pid P on HOST device D\" lines: not an nccl-tests log?");
  if (columns.empty()) throw InputError(source + ": no table header (\"#  size  count  type ... time  algbw  busbw\")");
  if (log.rows.empty()) throw InputError(source + ": the table has no rows with size > 0");
  log.nodes = int(hosts.size());
  return log;
}

NcclTestsLog read_nccl_tests(const std::string& spec) {
  std::string path = spec;
  std::optional<NcclCollective> collective;
  const size_t eq = spec.find('=');
  if (eq != std::string::npos) {
    const std::string name = spec.substr(0, eq);
    path = spec.substr(eq + 1);
    if (name == "alltoall") collective = NcclCollective::ALL_TO_ALL;
    else if (name == "all_reduce") collective = NcclCollective::ALL_REDUCE;
    else throw InputError(spec + ": unknown collective \"" + name + "\"; expected alltoall=LOG or all_reduce=LOG");
  } else {
    collective = collective_from(path);
    if (!collective)
      throw InputError(path + ": cannot tell the collective from the file name; name it: alltoall=" + path +
                       " or all_reduce=" + path);
  }
  return parse_nccl_tests(read_input_file(path, "nccl-tests log"), *collective, path);
}

}  // namespace moesim::calibration
