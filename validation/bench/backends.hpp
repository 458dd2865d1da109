#pragma once
#include <vector>

#include <benchmark/benchmark.h>

#include "validation/calibration/kernel_cases.hpp"

namespace moesim::bench {

using calibration::KernelCase;

// Registers one Google Benchmark per case. Each entry carries the case's shape counters
// (kernel_cases.hpp), so `moesim calibrate` can rebuild the case from the JSON alone.
void register_cpu_benchmarks(const std::vector<KernelCase>& cases, double min_time_s);
// Returns false (and registers nothing) when no CUDA device answers.
bool register_cuda_benchmarks(const std::vector<KernelCase>& cases, double min_time_s);

inline void set_case_counters(benchmark::State& state, const KernelCase& c) {
  for (const auto& [key, value] : calibration::case_counters(c)) state.counters[key] = value;
  const double flops = calibration::case_flops(c);
  const double launches = state.counters.count("launches_per_iteration") ? double(state.counters["launches_per_iteration"]) : 1;
  if (flops > 0)
    state.counters["FLOPS"] = benchmark::Counter(flops * launches, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace moesim::bench
