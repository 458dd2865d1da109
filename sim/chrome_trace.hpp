#pragma once
#include <string>
#include <vector>

#include "hardware/cluster.hpp"
#include "sim/step_program.hpp"
#include "sim/timeline.hpp"

namespace moesim {

// DIR/trace.json in the Chrome trace event format (opens in Perfetto and chrome://tracing):
// one process per node, one thread per traced GPU, one span per op or wait with its
// layer, micro-batch and FLOPs or bytes. Returns the file's path.
std::string write_chrome_trace(const std::string& dir, const StepProgram& program, const std::vector<GpuTimeline>& timelines,
                               const ClusterSpec& cluster);

}  // namespace moesim
