#pragma once
#include "sim/result.hpp"
#include "sim/scenario.hpp"

namespace moesim {

// Thrown when a scenario asks for something this build cannot do yet (e.g. engine "des").
class NotAvailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The whole path: topology, routing, traffic, then the engine the scenario names.
StepResult simulate(const Scenario& scenario);

}  // namespace moesim
