#pragma once
#include <string>
#include <vector>

namespace moesim::calibration {

// GPU kernels from a PyTorch profiler (Kineto) trace: Chrome trace JSON whose `traceEvents`
// hold complete events ("ph": "X") with "cat": "kernel", a name, a start "ts" and a "dur" in
// microseconds. Each kernel is classed by its name as moesim's cost model sees an MoE layer.
enum class KernelClass { ALL_TO_ALL, GROUPED_GEMM, OTHER };
const char* kernel_class_name(KernelClass c);
KernelClass classify_kernel(const std::string& name);

struct TraceKernel {
  std::string name;
  KernelClass kind = KernelClass::OTHER;
  double start_s = 0;
  double duration_s = 0;
};

struct KinetoTrace {
  std::string source;
  std::vector<TraceKernel> kernels;  // in file order
};

KinetoTrace parse_kineto_trace(const std::string& text, const std::string& source);
KinetoTrace read_kineto_trace(const std::string& path);

}  // namespace moesim::calibration
