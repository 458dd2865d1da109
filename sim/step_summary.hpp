#pragma once
#include <vector>

#include "sim/result.hpp"
#include "sim/scenario.hpp"
#include "sim/timeline.hpp"
#include "sim/traffic.hpp"

namespace moesim {

// The step result both engines report: the step ends when the last GPU does, and its
// breakdown is that GPU's time per part (compute, communication, waiting), which sums to
// the step time; then routing figures, memory, MFU and tokens/s.
StepResult summarize_step(const Scenario& scenario, const RoutedStep& routed, const std::vector<GpuTimeline>& timelines,
                          std::vector<LayerStraggler> stragglers);

}  // namespace moesim
