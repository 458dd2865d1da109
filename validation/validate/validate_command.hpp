#pragma once
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace moesim::validation {

class ValidateUsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

constexpr const char* VALIDATE_USAGE = "moesim validate DATASET [--profile PROFILE.json] [--op OP] [--out DIR]\n";

// `moesim validate`: predicts every point of a moesim-validation/1 dataset, prints one row per
// point and the mean absolute percentage error per family and overall (points of confidence
// `low` shown but kept out of the means), lists the points it cannot simulate with the reason,
// and with --out writes DIR/validation.json.
int validate_command(const std::vector<std::string>& args, std::ostream& out);

}  // namespace moesim::validation
