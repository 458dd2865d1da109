#pragma once
#include <string>
#include <vector>

namespace moesim {

// Per-expert top-k assignment counts measured on a real model, one layer of one domain.
struct MeasuredCounts {
  std::string model;   // moesim model preset it belongs to
  std::string domain;  // text domain of the measured tokens
  int top_k = 0;
  int layer = 0;       // layer index in the model
  std::vector<double> counts;
};

const std::vector<MeasuredCounts>& measured_counts();

}  // namespace moesim
