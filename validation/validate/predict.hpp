#pragma once
#include <functional>
#include <optional>
#include <string>

#include "hardware/kernel_profile.hpp"
#include "hardware/registry.hpp"
#include "models/cost_model.hpp"
#include "validation/validate/dataset.hpp"

namespace moesim::validation {

// moesim's prediction of one point, in the point's own metric.
struct Prediction {
  bool supported = false;
  std::string reason;     // why not, when unsupported
  double time_s = 0;      // predicted kernel or step time
  double metric = 0;      // the time converted into the point's metric with its byte/FLOP count
  std::string note;       // how the prediction was formed (validation.json "how")
  // The scenario simulated, for points run as a whole scenario (training steps): written to
  // `--out DIR/scenarios/ID.json` so that `moesim estimate` reruns the point with its breakdown.
  std::string scenario_json;
  // Training steps: whether moesim's memory model fits the run in HBM (a published run did
  // run, so "no" is a memory-model miss).
  std::optional<bool> fits_memory;
};
inline Prediction unsupported(std::string reason) { return {false, std::move(reason), 0, 0, ""}; }

struct PredictContext {
  std::optional<KernelProfile> profile;  // applied to clusters of its GPU
  std::string profile_source;
};

// The cluster a point ran on: the preset of its GPU with the stated node shape and the link
// bandwidths the point states. nullopt (and `reason`) when moesim has no preset for the GPU.
std::optional<ClusterSpec> point_cluster(const ValidationPoint& p, const PredictContext& ctx, std::string& reason);
// Compute dtype of a dtype text ("fp16", "bf16", "fp8_e4m3 ...", "FP8", "MXFP8", ...).
Dtype compute_dtype_of(const std::string& text);

// Converts a predicted time into a point's metric; `work` is the point's FLOP or byte count
// (per its metric definition). Unknown metric names give an unsupported prediction.
Prediction in_metric(const ValidationPoint& p, double time_s, double work, std::string note = "");

// One predictor per op (validation/validate/*.cpp), chosen by the point's `op`.
using Predictor = std::function<Prediction(const ValidationPoint&, const PredictContext&)>;
const Registry<Predictor>& predictors();

Prediction predict(const ValidationPoint& p, const PredictContext& ctx);

}  // namespace moesim::validation
