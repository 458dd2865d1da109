#pragma once
#include <optional>
#include <string>
#include <vector>

namespace moesim::calibration {

enum class NcclCollective { ALL_TO_ALL, ALL_REDUCE };

// One size of an nccl-tests table: the out-of-place time, and the in-place one where the
// test measured it ("N/A" otherwise).
struct NcclTestsRow {
  double size_bytes = 0;
  double out_of_place_s = 0;
  std::optional<double> in_place_s;
  double busbw_GBps = 0;  // out-of-place bus bandwidth as printed
};

// The standard output of nccl-tests (alltoall_perf, all_reduce_perf): ranks from the
// "# Using devices" lines, nodes from their host names, then the table.
struct NcclTestsLog {
  std::string source;
  NcclCollective collective = NcclCollective::ALL_TO_ALL;
  int ranks = 0;
  int nodes = 0;
  std::string device;  // GPU name of rank 0
  std::vector<NcclTestsRow> rows;
};

// `spec` is PATH or COLLECTIVE=PATH (alltoall=..., all_reduce=...); without the prefix the
// collective is read off the file name (alltoall / all_reduce / allreduce in it).
// Throws InputError naming the file and line for a log it cannot read.
NcclTestsLog read_nccl_tests(const std::string& spec);
NcclTestsLog parse_nccl_tests(const std::string& text, NcclCollective collective, const std::string& source);
std::string collective_name(NcclCollective c);

}  // namespace moesim::calibration
