// GPU presets. Each figure is the vendor datasheet's, dense (no sparsity); scale-up bandwidth
// is the datasheet's bidirectional figure halved to get bytes per direction. SM counts: NVIDIA
// H100 architecture whitepaper (H100/H800/H200 SXM: 132), A100 whitepaper (108), Blackwell
// B200 and GB200: 148, Blackwell Ultra: 160; AMD CDNA 3 whitepaper (MI300X: 304 compute units).
#include "hardware/gpu.hpp"

namespace moesim {

namespace {
constexpr double T = 1e12;
constexpr double GB = 1e9;

// What NCCL's tuner (src/graph/tuning.cc) knows of a GPU generation: the LL protocol's
// bus-bandwidth cap within one node (llMaxBws, single-node column: Ampere 87.7, Hopper 141,
// Blackwell 2 x 141 GB/s) and NVLink SHARP's efficiency (nvlsEfficiency: none before Hopper).
struct NcclGeneration {
  double ll_cap_GBps, nvls_efficiency;
};
constexpr NcclGeneration AMPERE_NCCL = {87.7, 0}, HOPPER_NCCL = {141, 0.85}, BLACKWELL_NCCL = {282, 0.74};
GpuSpec with_nccl(GpuSpec g, NcclGeneration generation) {
  g.nccl_ll_max_Bps = generation.ll_cap_GBps * 1e9;
  g.nccl_nvls_efficiency = generation.nvls_efficiency;
  return g;
}

// Each GPU's training_tensor_fraction as validation/calibration/fit_training_fraction.py fits
// it on the dense Llama 3 runs of Megatron-Bridge (validation/RESULTS.md, "Dense calibration"):
// H100 over six Llama 3 70B and 405B runs, B200 over six 8B and 405B runs, GB200 over eight and
// GB300 over six 8B/70B/405B runs (405B with its recipe's pipeline layout, and the 70B and 405B
// runs' tensor-parallel communication overlapped as their recipes run it: session 19). H800
// and H200 share the H100's die, clocks and 700 W; B300 shares the GB300's Blackwell Ultra die
// (whose doubled softmax-exponent rate speeds attention) and has no dense run of its own. GPUs
// without such runs (A100, H20, MI300X) keep the kernel rate.
constexpr double HOPPER_TRAINING = 0.736, BLACKWELL_TRAINING = 0.710, GB200_TRAINING = 0.674,
                 BLACKWELL_ULTRA_TRAINING = 0.829;
GpuSpec in_training(GpuSpec g, double fraction) {
  g.training_tensor_fraction = fraction;
  return g;
}

// Fused attention's long-sequence efficiencies (forward, backward) as
// validation/calibration/fit_attention.py fits them on NVIDIA's cuDNN SDPA training benchmark
// (cudnn-frontend benchmark/sdpa_benchmark_training/results @ 3929da2e: cuDNN 9.19 on H200,
// 9.22 on GB200 and GB300; RESULTS.md, "Fused attention"): BF16 over the BF16 peak, FP8 with
// per-tensor scales and MXFP8 over the FP8 peak, each at the same fixed time per query tile.
// The H200's BF16 ones are GpuSpec's defaults; H100, H800 and H20 (the same Hopper SMs) take
// the H200's, which has no MXFP8. B200 takes the GB200's (the same die), B300 the GB300's
// (Blackwell Ultra, whose doubled softmax-exponent rate lifts the forward). GPUs without a
// measurement (A100, MI300X) keep the BF16 defaults and no FP8 attention.
struct AttentionRates {
  double forward, backward, fp8_forward, fp8_backward, mxfp8_forward, mxfp8_backward;
};
constexpr AttentionRates HOPPER_ATTENTION = {0.772, 0.639, 0.564, 0.306, 0, 0},
                         BLACKWELL_ATTENTION = {0.734, 0.594, 0.475, 0.337, 0.443, 0.294},
                         BLACKWELL_ULTRA_ATTENTION = {0.875, 0.649, 0.672, 0.400, 0.604, 0.320};
GpuSpec with_attention(GpuSpec g, AttentionRates rates) {
  g.attention_forward_efficiency = rates.forward;
  g.attention_backward_efficiency = rates.backward;
  g.attention_fp8_forward_efficiency = rates.fp8_forward;
  g.attention_fp8_backward_efficiency = rates.fp8_backward;
  g.attention_mxfp8_forward_efficiency = rates.mxfp8_forward;
  g.attention_mxfp8_backward_efficiency = rates.mxfp8_backward;
  return g;
}

Registry<GpuSpec> make_gpu_presets() {
  Registry<GpuSpec> r("GPU preset");
  // NVIDIA H100 Tensor Core GPU datasheet (SXM5): BF16 989 TFLOPS, FP8 1,979 TFLOPS dense,
  // 80 GB HBM3 at 3.35 TB/s, NVLink 900 GB/s bidirectional.
  r.add("h100-sxm", "NVIDIA H100 SXM5 80 GB (NVLink 4, 450 GB/s per direction)",
        with_attention(in_training(with_nccl({"h100-sxm", 989.4 * T, 1978.9 * T, 80 * GB, 3350 * GB, 450 * GB, 132}, HOPPER_NCCL),
                                   HOPPER_TRAINING),
                       HOPPER_ATTENTION));
  // NVIDIA H800 SXM5 datasheet: same compute and HBM as H100, NVLink 400 GB/s bidirectional
  // (DeepSeek-V3 technical report, Sec. 3.1: ~160 GB/s achieved per GPU).
  r.add("h800", "NVIDIA H800 SXM5 80 GB (export NVLink, 200 GB/s per direction)",
        with_attention(in_training(with_nccl({"h800", 989.4 * T, 1978.9 * T, 80 * GB, 3350 * GB, 200 * GB, 132}, HOPPER_NCCL),
                                   HOPPER_TRAINING),
                       HOPPER_ATTENTION));
  // NVIDIA H200 Tensor Core GPU datasheet (SXM): 989 / 1,979 TFLOPS, 141 GB HBM3e at 4.8 TB/s,
  // NVLink 900 GB/s bidirectional.
  r.add("h200", "NVIDIA H200 SXM 141 GB (NVLink 4, 450 GB/s per direction)",
        with_attention(in_training(with_nccl({"h200", 989.4 * T, 1978.9 * T, 141 * GB, 4800 * GB, 450 * GB, 132}, HOPPER_NCCL),
                                   HOPPER_TRAINING),
                       HOPPER_ATTENTION));
  // NVIDIA H20 (Hopper for the China market; product brief as widely reported): BF16 148 TFLOPS,
  // FP8 296 TFLOPS dense, 96 GB HBM3 at 4.0 TB/s, NVLink 900 GB/s bidirectional; 78 SMs
  // (reported by third parties, not in the brief).
  r.add("h20", "NVIDIA H20 96 GB (NVLink 4, 450 GB/s per direction; 148 BF16 TFLOPS)",
        with_attention(with_nccl({"h20", 148 * T, 296 * T, 96 * GB, 4000 * GB, 450 * GB, 78}, HOPPER_NCCL),
                       HOPPER_ATTENTION));
  // NVIDIA A100 Tensor Core GPU datasheet (SXM 80 GB): BF16 312 TFLOPS, no FP8,
  // HBM2e 2,039 GB/s, NVLink 600 GB/s bidirectional.
  r.add("a100-80g", "NVIDIA A100 SXM 80 GB (NVLink 3, 300 GB/s per direction; no FP8)",
        with_nccl({"a100-80g", 312 * T, 0, 80 * GB, 2039 * GB, 300 * GB, 108}, AMPERE_NCCL));
  // NVIDIA DGX B200 datasheet: 72 PFLOPS FP8 training and 1,440 GB HBM3e at 64 TB/s for 8 GPUs
  // -> 4.5 PFLOPS FP8 dense (2.25 BF16), 180 GB and 8 TB/s per GPU; NVLink 5 1.8 TB/s bidirectional.
  r.add("b200", "NVIDIA B200 180 GB (NVLink 5, 900 GB/s per direction)",
        with_attention(in_training(with_nccl({"b200", 2250 * T, 4500 * T, 180 * GB, 8000 * GB, 900 * GB, 148}, BLACKWELL_NCCL),
                                   BLACKWELL_TRAINING),
                       BLACKWELL_ATTENTION));
  // The Blackwell GPU of GB200 NVL72 runs at 1,200 W: BF16 2.5, FP8 5 PFLOPS dense (NVIDIA
  // Blackwell architecture technical brief, as tabulated at glennklockwood.com/garden/
  // processors/B200); NVIDIA GB200 NVL72 datasheet: 13.4 TB HBM3e at 576 TB/s for 72 GPUs
  // -> 186 GB and 8 TB/s per GPU; NVLink 5 1.8 TB/s bidirectional; the B200 die's 148 SMs.
  r.add("gb200", "NVIDIA GB200 (Blackwell in NVL72 racks, 186 GB, NVLink 5, 900 GB/s per direction)",
        with_attention(in_training(with_nccl({"gb200", 2500 * T, 5000 * T, 186 * GB, 8000 * GB, 900 * GB, 148}, BLACKWELL_NCCL),
                                   GB200_TRAINING),
                       BLACKWELL_ATTENTION));
  // Blackwell Ultra (per-GPU table of Verda's "NVIDIA GB300 NVL72: GPU architecture &
  // performance", 2025, dense figures): GB300 BF16 2.5, FP8 5 PFLOPS, 279 GB HBM3e at 8 TB/s;
  // B300 (HGX, 1,100 W) BF16 2.25, FP8 4.5 PFLOPS, 270 GB at 7.7 TB/s; NVLink 5 1.8 TB/s
  // bidirectional on both; 160 SMs (NVIDIA technical blog "Inside NVIDIA Blackwell Ultra").
  r.add("gb300", "NVIDIA GB300 (Blackwell Ultra in NVL72 racks, 279 GB, NVLink 5, 900 GB/s per direction)",
        with_attention(in_training(with_nccl({"gb300", 2500 * T, 5000 * T, 279 * GB, 8000 * GB, 900 * GB, 160}, BLACKWELL_NCCL),
                                   BLACKWELL_ULTRA_TRAINING),
                       BLACKWELL_ULTRA_ATTENTION));
  r.add("b300", "NVIDIA B300 (Blackwell Ultra, HGX, 270 GB, NVLink 5, 900 GB/s per direction)",
        with_attention(in_training(with_nccl({"b300", 2250 * T, 4500 * T, 270 * GB, 7700 * GB, 900 * GB, 160}, BLACKWELL_NCCL),
                                   BLACKWELL_ULTRA_TRAINING),
                       BLACKWELL_ULTRA_ATTENTION));
  // AMD Instinct MI300X datasheet: BF16 1,307.4 TFLOPS, FP8 2,614.9 TFLOPS dense, 192 GB HBM3
  // at 5.3 TB/s; Infinity Fabric 896 GB/s aggregate bidirectional (7 x 128 GB/s links).
  // The node is a full mesh, modeled as a switch: right for uniform all-to-all, optimistic
  // when one peer receives more than its 64 GB/s link carries.
  r.add("mi300x", "AMD Instinct MI300X 192 GB (Infinity Fabric mesh, 448 GB/s per direction)",
        {"mi300x", 1307.4 * T, 2614.9 * T, 192 * GB, 5300 * GB, 448 * GB, 304});
  return r;
}
}  // namespace

double GpuSpec::peak_flops(Dtype dtype) const {
  return dtype == Dtype::FP8 ? peak_fp8_flops : peak_bf16_flops;
}

double GpuSpec::attention_efficiency(AttentionDtype dtype, bool backward) const {
  switch (dtype) {
    case AttentionDtype::BF16: return backward ? attention_backward_efficiency : attention_forward_efficiency;
    case AttentionDtype::FP8: return backward ? attention_fp8_backward_efficiency : attention_fp8_forward_efficiency;
    case AttentionDtype::MXFP8: return backward ? attention_mxfp8_backward_efficiency : attention_mxfp8_forward_efficiency;
  }
  return 0;
}

const Registry<GpuSpec>& gpu_presets() {
  static const Registry<GpuSpec> presets = make_gpu_presets();
  return presets;
}

}  // namespace moesim
