// libFuzzer target: the validation dataset reader (targets.hpp). Built by tests/fuzz/run.sh with clang.
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    moesim::fuzz::validation_dataset(std::string(reinterpret_cast<const char*>(data), size));
  } catch (const moesim::InputError&) {
  }
  return 0;
}
