#pragma once
#include <string>
#include <vector>

#include "hardware/kernel_profile.hpp"
#include "models/cost_model.hpp"
#include "validation/calibration/bench_reader.hpp"
#include "validation/calibration/nccl_tests.hpp"

namespace moesim::calibration {

// One measurement beside the calibrated model's prediction of it.
struct Check {
  std::string name;
  std::string kind;     // gemm, copy, expert_gemms, ..., nccl_alltoall, nccl_all_reduce
  double measured_s = 0;
  double predicted_s = 0;
  bool in_fit = false;  // false: held out of the fit, so its error is a prediction error
  double error_pct() const { return 100 * (predicted_s - measured_s) / measured_s; }
};

struct CalibrationInput {
  std::vector<BenchRun> runs;
  std::vector<NcclTestsLog> nccl;
  std::string backend;     // "cpu" or "cuda"; "" = cuda when present, else cpu
  std::string gpu_preset;  // "" = recognised from the device name (cuda only)
  int hold_out_every = 0;  // >0: every n-th GEMM and copy is left out of the fit
  std::vector<std::string> commands;
};

struct Calibration {
  KernelProfile profile;
  std::vector<Check> checks;
};

// Fits the profile's parameters to the measurements: memory bandwidth and kernel overhead
// by weighted least squares on the copies; GEMM rate, row tile and launch overhead by least
// squares of log(predicted / measured) on the GEMMs; link latency and bandwidth per scope
// from nccl-tests tables. Everything else (expert GEMMs under skew, permutations, the gate)
// is predicted, never fitted. Throws InputError when the measurements cannot determine a
// parameter.
Calibration calibrate(const CalibrationInput& input);

// Link latency and bandwidth per scope (intra-node: one host in the log; inter-node: several)
// from nccl-tests tables, every hold_out_every-th size left out (0: none), and every row beside
// the fitted model's time (all-to-all: CostModel::transfer_s; all-reduce: ring_allreduce_s).
struct LinkCalibration {
  std::optional<LinkFit> intra_node, inter_node;
  std::vector<Check> checks;
};
LinkCalibration fit_nccl_links(const std::vector<NcclTestsLog>& logs, int hold_out_every);

// A cost model that knows only the profile's rates (no datasheet): what the checks use.
CostModel profile_cost_model(const KernelProfile& profile, double element_bytes);

// GPU preset of a CUDA device name ("NVIDIA H100 80GB HBM3" -> h100-sxm), or "".
std::string gpu_preset_of_device(const std::string& device);

}  // namespace moesim::calibration
