#pragma once
#include <chrono>
#include <stdexcept>
#include <string>

#include "sim/scenario.hpp"

namespace moesim {

// A run that would exceed, or did exceed, a resource limit; the message names the limit
// (sim.max_memory_gib, sim.max_wall_s) and how to change it.
class ResourceLimit : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What a run will need, estimated from the scenario before anything large is built.
struct RunEstimate {
  double memory_bytes = 0;
  double wall_s = 0;
  std::string what;  // the dominant term, in words
};
RunEstimate estimate_run(const Scenario& scenario);

// The memory limit in force: sim.max_memory_gib, or else this machine's physical memory.
double memory_limit_bytes(const Scenario& scenario);

// Refuses a run whose estimate exceeds a limit, before it starts.
void check_run_fits_limits(const Scenario& scenario);

// The wall-clock budget of a run (sim.max_wall_s), checked between its stages.
class WallBudget {
 public:
  explicit WallBudget(const Scenario& scenario);
  void check(const char* stage) const;
  // Seconds left (infinite without a limit).
  double left_s() const;

 private:
  double limit_s_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// Resident memory of this process now.
double resident_bytes();

}  // namespace moesim
