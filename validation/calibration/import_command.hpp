#pragma once
#include <ostream>
#include <string>
#include <vector>

namespace moesim::calibration {

constexpr const char* IMPORT_USAGE =
    "moesim import nccl-tests [alltoall=|all_reduce=]LOG [...]\n"
    "       moesim import kineto TRACE.json [...]\n";

// `moesim import nccl-tests LOG ...`: what moesim reads from the logs (collective, ranks,
// nodes, GPU, the table), the link latency and bandwidth it fits per scope, and how far the
// fitted model is from each row. `moesim import kineto TRACE.json ...`: the GPU kernels of
// PyTorch profiler traces, classed as all-to-all, grouped GEMM or other, with their
// durations. Throws CalibrateUsageError for bad arguments.
int import_command(const std::vector<std::string>& args, std::ostream& out);

}  // namespace moesim::calibration
