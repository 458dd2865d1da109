#pragma once
#include "hardware/cluster.hpp"
#include "hardware/dtype.hpp"

namespace moesim {

// Where a transfer runs: over the node's NVSwitch, or out of the NIC.
enum class LinkScope { INTRA_NODE, INTER_NODE };

// Kernel and transfer times on one GPU of the cluster. Built from the hardware presets;
// a calibration profile (later) replaces the efficiency factors with fitted curves.
class CostModel {
 public:
  CostModel(const ClusterSpec& cluster, Dtype compute_dtype);

  // C[m x n] = A[m x k] B[k x n] in the compute dtype. Rows are padded to the GEMM tile,
  // which is what makes an expert with 3 tokens cost as much as one with 128.
  double gemm_s(double m, double n, double k) const;
  // FLOPs that run at GEMM speed without tile effects (large attention kernels).
  double flops_s(double flops) const { return flops / flops_per_s_; }
  // A kernel limited by HBM traffic (element-wise ops, permutations, the optimizer step).
  double memory_bound_s(double bytes) const { return bytes / hbm_Bps_; }
  double bandwidth_Bps(LinkScope scope) const;
  double latency_s(LinkScope scope) const;
  double transfer_s(double bytes, LinkScope scope) const { return latency_s(scope) + bytes / bandwidth_Bps(scope); }
  // Ring all-reduce over n GPUs: 2 (n-1)/n of the bytes cross each GPU's port, 2 (n-1) steps.
  double ring_allreduce_s(double bytes, int n, LinkScope scope) const;
  double peak_flops() const { return peak_flops_; }

 private:
  ClusterSpec cluster_;
  double peak_flops_;
  double flops_per_s_;
  double hbm_Bps_;
};

}  // namespace moesim
