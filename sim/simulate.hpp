#pragma once
#include <memory>
#include <vector>

#include "sim/result.hpp"
#include "sim/scenario.hpp"
#include "sim/step_program.hpp"
#include "sim/timeline.hpp"
#include "sim/traffic.hpp"

namespace moesim {

// Thrown when a scenario asks for something this build cannot do.
class NotAvailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A finished simulation: the result, and the program and timelines behind it (for the trace).
struct Simulation {
  std::shared_ptr<const RoutedStep> routed;  // the program points into it
  StepProgram program;
  std::vector<GpuTimeline> timelines;
  StepResult result;
};

// The whole path: topology, routing, the step program, then the engine the scenario names.
Simulation simulate_step(const Scenario& scenario);
inline StepResult simulate(const Scenario& scenario) { return simulate_step(scenario).result; }

}  // namespace moesim
