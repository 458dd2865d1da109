#pragma once
#include <string>

#include "hardware/gpu.hpp"
#include "hardware/registry.hpp"

namespace moesim {

// How the NICs of different nodes are connected.
enum class InterNodeFabric {
  RAIL_OPTIMIZED,  // NIC i of every node in a rail group on leaf switch i; leaves to spines
  FAT_TREE,        // nodes packed onto leaves in order; leaves to spines, possibly oversubscribed
};

// A GPU cluster: identical nodes of gpus_per_node GPUs on an NVSwitch, one NIC per GPU.
// SI units throughout (bytes/s, seconds).
struct ClusterSpec {
  std::string name;
  GpuSpec gpu;
  int nodes = 1;
  int gpus_per_node = 8;
  double nvlink_Bps = 0;          // per GPU per direction
  double nvlink_latency_s = 0;    // GPU to GPU through the NVSwitch
  double nic_Bps = 0;             // per GPU (one NIC each) per direction
  double nic_latency_s = 0;       // NIC to NIC across one leaf switch
  InterNodeFabric fabric = InterNodeFabric::RAIL_OPTIMIZED;
  int nodes_per_leaf = 32;        // rail group size (rail-optimized) or nodes under one leaf (fat tree)
  double oversubscription = 1.0;  // leaf downlink : uplink bandwidth
  // Payload over line rate: what collectives and EP kernels move per second of the link's
  // datasheet rate, protocol overhead taken off. NVLink: NCCL's maintainer gives 370 of H100's
  // 450 GB/s ("protocol overhead ~20%", nccl-tests issue 212); NIC: DeepEP normal's EP32
  // dispatch row moves 44.0 GB/s over 400 Gb/s (50 GB/s) NICs, and every EP library's
  // inter-node rows imply 40-46. A calibration profile's fitted link rates are payload rates
  // already (its efficiency is 1).
  double nvlink_efficiency = 0.822;
  double nic_efficiency = 0.88;
  // Efficiency factors until a calibration profile replaces them with fitted values. Large
  // cuBLASLt GEMMs reach 0.70 (H100 FP8, 16k cube: 1377 of 1979 TFLOPS) to 0.82 (A100 FP16:
  // 256 of 312); STREAM-like kernels reach 0.83-0.87 of HBM peak (Azure AI-benchmarking-guide,
  // as transcribed in shared/validation/published.json).
  double gemm_efficiency = 0.75;  // achieved / peak FLOP/s of a large BF16 GEMM
  // FP8 reaches less of its (twice as high) peak: the H100 16k cube above, 0.70; moesim's own
  // H100 run (validation/gpu/fp8_gemm.py) 0.63-0.67 at 8k-16k against 0.70-0.79 in BF16.
  double fp8_gemm_efficiency = 0.70;
  int gemm_tile_rows = 128;       // GEMM output tile: rows x cols; tiles run in waves of gpu.sms
  int gemm_tile_cols = 128;
  double hbm_efficiency = 0.85;   // achieved / peak HBM bandwidth of streaming kernels
  // Fused attention's efficiencies are the GPU's (GpuSpec::attention_forward_efficiency).
  // Fixed time per kernel in a stream of launches, as measured back to back on an H200
  // (validation/RESULTS.md: 5.3 us per cuBLAS GEMM, 3.2 us per copy kernel). They matter for
  // many small GEMMs (an expert with a handful of tokens), not for the large ones of training.
  double gemm_overhead_s = 5e-6;
  double kernel_overhead_s = 3e-6;   // per memory-bound kernel (copy, permutation)
  // Host time per kernel moesim counts in a layer (sim/step_program.cpp) of an eager
  // framework: its Python, dispatcher and launch path. A GPU whose kernels are shorter waits
  // for the host (Part::HOST_WAIT); 0 for a CUDA-graphed step. Measured on the lent H200 node
  // (validation/gpu/host_bound.py, RESULTS.md): an eager PyTorch MoE layer with 16 experts,
  // host-bound at 64 and 256 tokens, takes a median 9.84 ms (7.4-13.3 over four runs) for the
  // 182 kernels moesim counts in it (it launches 353: moesim counts fused kernels, as
  // Megatron-Core runs them).
  double host_s_per_kernel = 54.1e-6;
  // How an all-reduce's steps are priced: NCCL's tuner (true: per protocol, its base and
  // per-hop latencies, models/cost_model.cpp), or the cluster's link latencies per ring step
  // (false), as a calibration profile fits them from nccl-tests logs.
  bool nccl_latencies = true;
  // NCCL may reduce all-reduces inside an NVSwitch (NVLink SHARP) where the GPU generation
  // can (GpuSpec::nccl_nvls_efficiency > 0): NCCL's default; false as under NCCL_NVLS_ENABLE=0.
  bool nccl_nvls = true;

  int gpus() const { return nodes * gpus_per_node; }
  double nvlink_payload_Bps() const { return nvlink_Bps * nvlink_efficiency; }
  double nic_payload_Bps() const { return nic_Bps * nic_efficiency; }
  int node_of(int gpu) const { return gpu / gpus_per_node; }
};

const Registry<ClusterSpec>& cluster_presets();
std::string fabric_name(InterNodeFabric fabric);

}  // namespace moesim
