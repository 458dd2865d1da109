#pragma once
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace moesim::calibration {

class CalibrateUsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

constexpr const char* CALIBRATE_USAGE =
    "moesim calibrate --bench B.json [--bench ...] [--nccl-tests [alltoall=|all_reduce=]LOG ...]\n"
    "                 [--backend cpu|cuda] [--gpu PRESET] [--hold-out N] [--checks FILE.csv] -o PROFILE.json\n";

// `moesim calibrate ARGS` (and `moesim-calibrate ARGS` where the simulator is not built):
// fits a profile, prints the fit and the errors per kernel kind, writes PROFILE.json and,
// with --checks, every measurement beside its prediction as CSV. Throws CalibrateUsageError
// for bad arguments and InputError for unreadable inputs.
int calibrate_command(const std::vector<std::string>& args, std::ostream& out);

}  // namespace moesim::calibration
