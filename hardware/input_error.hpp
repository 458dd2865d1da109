#pragma once
#include <stdexcept>

namespace moesim {

// Bad input: one line naming the file, the JSON path, the value and what was expected.
// Every reader (scenarios, profiles, benchmark and nccl-tests logs) throws it; the CLI turns
// it into exit code 1.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace moesim
