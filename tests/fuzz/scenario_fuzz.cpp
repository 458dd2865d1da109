// libFuzzer target: the scenario reader. Any input must either parse into a Scenario whose
// run can be sized, or be rejected with an InputError; anything else (another exception, a
// crash, a leak, undefined behaviour) is a finding. Built by tests/fuzz/run.sh with clang.
#include <cstddef>
#include <cstdint>
#include <string>

#include "sim/limits.hpp"
#include "sim/scenario.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const moesim::Scenario s = moesim::parse_scenario(std::string(reinterpret_cast<const char*>(data), size), "fuzz.json");
    const moesim::RunEstimate e = moesim::estimate_run(s);
    if (!(e.memory_bytes >= 0) || !(e.wall_s >= 0)) __builtin_trap();  // NaN or negative estimate
  } catch (const moesim::InputError&) {
  }
  return 0;
}
