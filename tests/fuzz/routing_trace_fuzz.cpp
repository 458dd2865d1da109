// libFuzzer target: the routing-trace reader (targets.hpp). Built by tests/fuzz/run.sh with clang.
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    moesim::fuzz::routing_trace(std::string(reinterpret_cast<const char*>(data), size));
  } catch (const moesim::InputError&) {
  }
  return 0;
}
