#pragma once
#include <memory>
#include <vector>

#include "models/params.hpp"
#include "models/scores/score_source.hpp"

namespace moesim {

// The machinery shared by the sources that differ only in where each layer's expert
// popularity comes from (popularity_source.cpp explains the sampling).
struct PopularitySettings {
  double noise = 1;
  double drift = 0;
  double coselection = 0;
  double persistence = 0;
  int clusters = 8;
  uint64_t seed = 0;
};

// log_popularity[layer][expert]: natural log of p (need not be normalised; -inf = never chosen).
std::unique_ptr<ScoreSource> make_popularity_source(const PopularitySettings& settings,
                                                    std::vector<std::vector<double>> log_popularity);
// The parameters every such source declares (noise, drift, coselection, clusters, seed).
std::vector<ParamSpec> popularity_params();
PopularitySettings popularity_settings(const Params& params);

}  // namespace moesim
