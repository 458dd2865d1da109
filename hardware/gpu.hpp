#pragma once
#include <string>

#include "hardware/dtype.hpp"
#include "hardware/registry.hpp"

namespace moesim {

// One accelerator as its datasheet states it. Peaks are dense (no 2:4 sparsity).
struct GpuSpec {
  std::string name;
  double peak_bf16_flops = 0;    // FLOP/s
  double peak_fp8_flops = 0;     // FLOP/s; 0 where the GPU has no FP8 tensor cores
  double hbm_bytes = 0;
  double hbm_Bps = 0;            // HBM bandwidth, bytes/s
  double nvlink_Bps = 0;         // scale-up bandwidth per GPU per direction, bytes/s
  int sms = 0;                   // streaming multiprocessors (compute units): GEMM tiles run in waves of this many
  // NCCL's cap on the bus bandwidth of its LL protocol in rings within one node, by GPU
  // generation (src/graph/tuning.cc, llMaxBws), bytes/s; 0: none (not an NCCL GPU).
  double nccl_ll_max_Bps = 0;
  // Share of the NVLink payload rate that NCCL's NVLink SHARP (NVLS) kernels keep, by GPU
  // generation (src/graph/tuning.cc, nvlsEfficiency: Hopper 0.85, Blackwell 0.74); 0: the
  // GPU's NVSwitch cannot reduce in the switch (Ampere and older, non-NVIDIA).
  double nccl_nvls_efficiency = 0;
  // Share of the kernel-benchmark tensor rate (the cluster's GEMM and attention efficiencies)
  // that GEMMs and fused attention keep inside a training step: clocks under a training run's
  // sustained power, the gaps between kernels and the element-wise work around them that
  // moesim does not list. Fitted per GPU on dense Llama 3 runs of Megatron-Bridge
  // (validation/calibration/megatron_bridge_dense_llama.json; RESULTS.md, "Dense calibration"),
  // none of them an MoE run; 1 where no such run is published.
  double training_tensor_fraction = 1;
  // Fused attention's (cuDNN's) FLOP rate over the BF16 peak on long sequences, forward and
  // backward (its FLOPs: CostModel::attention_core_s), head dim 128. Shorter key ranges
  // lose a fixed time per query tile (CostModel::attention_core_s). Fitted per GPU generation
  // on NVIDIA's own cuDNN SDPA training benchmark (validation/calibration/cudnn_sdpa_training.json,
  // RESULTS.md, "Fused attention"); the cluster's attention efficiencies default to these.
  // Defaults: the H200's (hardware/gpu_presets.cpp).
  double attention_forward_efficiency = 0.772;
  double attention_backward_efficiency = 0.639;
  // The same for FP8 attention (Transformer Engine's fp8_dot_product_attention: Q, K, V and the
  // probabilities in FP8), over the FP8 peak: per-tensor scaled (fp8) and MXFP8 block-scaled
  // (mxfp8, what an MXFP8 recipe runs). Fitted where cuDNN's benchmark measures them; 0: not
  // measured on this GPU, and a scenario asking for it is refused.
  double attention_fp8_forward_efficiency = 0;
  double attention_fp8_backward_efficiency = 0;
  double attention_mxfp8_forward_efficiency = 0;
  double attention_mxfp8_backward_efficiency = 0;

  // Peak for a compute dtype (bf16 or fp8; scenarios reject fp32 as a compute dtype).
  double peak_flops(Dtype dtype) const;
  // Fused attention's long-sequence efficiency (forward or backward) in a precision; 0 where
  // it is not measured.
  double attention_efficiency(AttentionDtype dtype, bool backward) const;
};

const Registry<GpuSpec>& gpu_presets();

}  // namespace moesim
