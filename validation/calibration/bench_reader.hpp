#pragma once
#include <map>
#include <string>
#include <vector>

#include "validation/calibration/kernel_cases.hpp"

namespace moesim::calibration {

// One moesim-bench entry: the case it ran and the time of one iteration.
struct Measurement {
  std::string name;
  KernelCase kernel;
  double time_s = 0;
};

// A Google Benchmark JSON file written by moesim-bench (--benchmark_out_format=json).
struct BenchRun {
  std::string source;
  std::map<std::string, std::string> context;  // host_name, date, moesim_cuda_device, ...
  std::vector<Measurement> measurements;
  int skipped = 0;                             // entries that reported an error
  int foreign = 0;                             // entries that are not moesim-bench cases
};

// Throws InputError naming the file and the JSON path of the first problem. Entries repeated
// (--benchmark_repetitions) are reduced to their median.
BenchRun read_bench_json(const std::string& path);
BenchRun parse_bench_json(const std::string& text, const std::string& source);

}  // namespace moesim::calibration
