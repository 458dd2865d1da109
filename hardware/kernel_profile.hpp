#pragma once
#include <optional>
#include <string>
#include <vector>

#include "hardware/cluster.hpp"

namespace moesim {

// Alpha-beta fit of one link scope: a transfer of b bytes takes latency_s + b / bandwidth_Bps.
struct LinkFit {
  double bandwidth_Bps = 0;
  double latency_s = 0;
  int points = 0;  // measurements the fit used
};

// What `moesim calibrate` measured on one machine: absolute rates, not fractions of a
// datasheet, so that a profile of a CPU (no preset) means the same as one of a GPU.
// Applying it to a cluster turns the rates into the cluster's efficiency factors.
struct KernelProfile {
  // Provenance: where and how the figures were obtained.
  std::string device;                // as the benchmark reported it ("NVIDIA H200", a CPU model)
  std::string gpu_preset;            // GPU preset the device is, or "" (then it fits any cluster)
  std::string dtype = "bf16";        // dtype of the GEMMs measured
  std::string machine;               // host name
  std::string date;                  // of the benchmark run
  std::vector<std::string> commands; // that produced the inputs

  // GEMM (models/cost_model.hpp): overhead + max(tensor-core time of the output tiles in
  // waves of compute_units, operand bytes / memory_Bps)
  double gemm_flops_per_s = 0;
  int gemm_tile_rows = 128;
  int gemm_tile_cols = 128;
  int compute_units = 0;             // SMs (GPU) or cores (CPU); 0: unknown, no waves
  double gemm_overhead_s = 0;
  // Streaming kernels (copies, permutations): overhead + bytes moved / memory_Bps
  double memory_Bps = 0;
  double kernel_overhead_s = 0;

  std::optional<LinkFit> intra_node;
  std::optional<LinkFit> inter_node;
};

// The cluster with the profile's figures in place of its presets' efficiency factors and
// link figures. Throws InputError (naming `source`) when the profile was measured on another
// GPU than the cluster's, or claims more than the GPU's datasheet peak.
ClusterSpec apply_profile(ClusterSpec cluster, const KernelProfile& profile, const std::string& source);

// Reading and writing `moesim-profile/1` JSON files. Errors name the file and the JSON path.
KernelProfile read_kernel_profile(const std::string& path);
std::string kernel_profile_json(const KernelProfile& profile);

}  // namespace moesim
