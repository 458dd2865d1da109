// moesim-bench: real kernels at MoE shapes, timed with Google Benchmark, for `moesim calibrate`.
//   moesim-bench [--quick] [--backend cpu|cuda|all] [Google Benchmark flags]
//   e.g. moesim-bench --quick --benchmark_out=bench.json --benchmark_out_format=json
#include <cstring>
#include <iostream>
#include <string>

#include "validation/bench/backends.hpp"

namespace {

// Removes `flag` (and its value when `value` is given) from argv; true when it was there.
bool take_flag(int& argc, char** argv, const char* flag, std::string* value = nullptr) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], flag) != 0) continue;
    const int width = value ? 2 : 1;
    if (value) {
      if (i + 1 >= argc) {
        std::cerr << "moesim-bench: " << flag << " needs a value\n";
        std::exit(2);
      }
      *value = argv[i + 1];
    }
    for (int j = i; j + width <= argc; ++j) argv[j] = j + width < argc ? argv[j + width] : nullptr;
    argc -= width;
    return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  std::string command;
  for (int i = 0; i < argc; ++i) {
    if (i) command += ' ';
    command += argv[i];
  }
  const bool quick = take_flag(argc, argv, "--quick");
  std::string backend = "all";
  take_flag(argc, argv, "--backend", &backend);
  if (backend != "all" && backend != "cpu" && backend != "cuda") {
    std::cerr << "moesim-bench: --backend " << backend << ": expected cpu, cuda or all\n";
    return 2;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  benchmark::AddCustomContext("moesim_command", command);
  benchmark::AddCustomContext("moesim_set", quick ? "quick" : "full");

  // The quick set is CI's: short minimum times, fewer shapes.
  const double min_time_s = quick ? 0.02 : 0.1;
  using moesim::calibration::benchmark_cases;
  if (backend != "cuda") moesim::bench::register_cpu_benchmarks(benchmark_cases("cpu", quick), min_time_s);
  if (backend != "cpu") {
#ifdef MOESIM_WITH_CUDA
    if (!moesim::bench::register_cuda_benchmarks(benchmark_cases("cuda", quick), min_time_s)) {
      std::cerr << "moesim-bench: CUDA backend built, but no CUDA device answers: skipped\n";
      if (backend == "cuda") return 3;
    }
#else
    std::cerr << "moesim-bench: built without the CUDA backend (no nvcc at configure time): skipped\n";
    if (backend == "cuda") return 3;
#endif
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
