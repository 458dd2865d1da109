#pragma once
#include <algorithm>
#include <numeric>
#include <vector>
#include <string>

#include "hardware/cluster.hpp"
#include "models/model.hpp"

namespace moesim {

// How a step is spread over GPUs. Attention and dense layers use dp x cp x tp x pp GPUs; the
// experts of a pipeline stage use the same dp x cp x tp GPUs folded as edp x ep x etp
// (Megatron-Core's "parallel folding"). Rank order, innermost first: tp, cp, dp, pp for
// attention (Megatron's default order tp-cp-ep-dp-pp); etp, ep, edp for experts.
struct ParallelPlan {
  int dp = 1;
  int tp = 1;
  int pp = 1;
  // Context parallelism (Megatron-Core's, point-to-point ring): each of the cp ranks keeps
  // 1/cp of every sequence (two chunks, one from each end, so the causal work is even), and
  // attention passes the keys and values round the ring, beside its core; its backward passes
  // their gradients too. Gradients reduce over dp x cp.
  int cp = 1;
  // Model chunks per pipeline stage (Megatron's interleaved 1F1B): the layers are cut into
  // pp * vp virtual stages; virtual stage j runs on pipeline stage j % pp.
  int vp = 1;
  int ep = 1;
  int etp = 1;
  int micro_batch_size = 1;  // sequences per micro-batch per data-parallel rank
  int micro_batches = 1;     // micro-batches per step per data-parallel rank
  int seq_len = 0;           // tokens per sequence
  // ZeRO-1 (Megatron's distributed optimizer): FP32 master weights and Adam moments sharded
  // over the data-parallel group (dense) and the expert-data-parallel group (experts);
  // gradients reduce-scattered and updated weights all-gathered instead of all-reduced.
  bool distributed_optimizer = false;
  // Fully sharded data parallelism (Megatron-FSDP's optim_grads_params, ZeRO-3): weights,
  // gradients and optimizer state sharded over the data-parallel group (dense: dp x cp;
  // experts: edp). Each layer's weights are all-gathered before its forward and again before
  // its backward, the next layer's while this one computes, and its gradients reduce-scattered
  // after every backward; the optimizer updates shards, with or without distributed_optimizer.
  bool fsdp = false;
  bool shards_optimizer() const { return distributed_optimizer || fsdp; }
  // Dtype in which gradients are accumulated, held and reduced: FP32 (Megatron-LM's default
  // for BF16 training, --accumulate-allreduce-grads-in-fp32) or BF16 (grad_reduce_in_fp32 =
  // False, as NVIDIA's Megatron-Bridge performance recipes set it): bytes per parameter of the
  // gradient buffer and of the gradient sync.
  Dtype gradient_dtype = Dtype::FP32;
  // Activation recomputation: none; selective (the modules below); full (each layer keeps only
  // its input and recomputes its forward pass during backward).
  std::string recompute = "none";
  // With recompute selective, the parts of a layer whose forward the backward runs again
  // (Megatron-Core's --recompute-modules, default core_attn): core_attn (the fused attention
  // kernel), layernorm (both norms), mla_up_proj (MLA's query and key-value up-projections),
  // mlp (dense layers' FFN), shared_experts, moe_act (the experts' activation function). Each
  // frees what it recomputes (memory_model.cpp says which of them moesim's activation count
  // holds).
  std::vector<std::string> recompute_modules = {"core_attn"};
  bool recomputes_module(const std::string& module) const {
    return recompute == "selective" &&
           std::find(recompute_modules.begin(), recompute_modules.end(), module) != recompute_modules.end();
  }
  // Parts of each layer captured in CUDA graphs (Megatron's --cuda-graph-scope with Transformer
  // Engine's graphs): attn (the attention block), mlp (a dense layer's FFN block), moe_router
  // (the router), moe_preprocess (the dispatcher's bookkeeping, which moesim does not price
  // apart: accepted, no effect), or layer (each whole layer, Megatron-Core's local graphs,
  // --enable-cuda-graph with --cuda-graph-scope full; a MoE layer's shapes must not change with
  // the routing, so its experts need router.pad_to_capacity). The host launches each captured
  // part as one graph replay per pass instead of its kernels; the GPU work is unchanged. A
  // whole step captured is cluster.host_us_per_kernel 0.
  std::vector<std::string> cuda_graph_scope;
  bool graphs(const std::string& part) const {
    return std::find(cuda_graph_scope.begin(), cuda_graph_scope.end(), part) != cuda_graph_scope.end();
  }
  // With recompute full: only the first recompute_layers layers of each model chunk recompute
  // (Megatron's --recompute-method block --recompute-num-layers N); 0: every layer.
  int recompute_layers = 0;
  // Whether `layer` of a model of `layers` recomputes its forward in backward.
  bool recomputes_layer(int layer, int layers) const {
    return recompute == "full" &&
           (recompute_layers == 0 || layer - first_layer(chunk_of_layer(layer, layers), layers) < recompute_layers);
  }
  // Each layer's gradients are reduced on a communication stream as soon as its last
  // micro-batch's backward has produced them, while the backward goes on (Megatron's
  // --overlap-grad-reduce); with the distributed optimizer the updated weights' all-gather
  // runs beside the next step's first forward, each layer waiting for its own weights
  // (--overlap-param-gather): exposed where the gathers take longer than that forward.
  bool overlap_grad_reduce = false;
  // Shared experts run on the compute stream while the all-to-alls run on the communication
  // stream (Megatron's --moe-shared-expert-overlap): input projections during dispatch, the
  // output projection during combine.
  bool overlap_shared_experts = false;
  // SMs the expert-parallel all-to-all kernels hold while they run; compute that overlaps
  // them gets the rest (DeepSeek-V3: 20 of an H800's 132 for DeepEP, tech report Sec. 3.2.2).
  int ep_comm_sms = 0;
  // What the dispatch sends: "per_rank", a token once to each EP rank that holds one of its
  // experts (the rank fans it out to its experts); "per_node", as per_rank inside the source's
  // node and once per other node over the NIC, to the rank on the source's rail there, which
  // forwards it over NVLink to that node's ranks (DeepEP normal, Hybrid-EP: one RDMA copy per
  // token and node); "per_expert", one row per (token, expert) (Megatron-Core's alltoall
  // dispatcher: the permuted rows, NCCL all-to-all).
  std::string dispatch_copies = "per_rank";
  // How a GPU's expert GEMMs run: "grouped", one persistent grouped kernel whose tiles from all
  // local experts share the SMs' waves (CUTLASS grouped GEMMs, DeepGEMM, fused grouped MLP
  // kernels); "per_expert", one GEMM per local expert, each with its own tile and wave
  // quantization (Transformer Engine's GroupedLinear: a cuBLAS GEMM per expert).
  std::string expert_gemms = "grouped";
  // Megatron's --overlap-moe-expert-parallel-comm ("combined 1F1B"): in the steady phase of
  // the pipeline schedule a forward and a backward of different micro-batches run together,
  // layer by layer, each one's dispatch and combine on the communication stream while the
  // other computes (what DeepSeek's DualPipe does within a pair of micro-batches).
  bool overlap_ep_comm = false;
  // Megatron's --tp-comm-overlap (Transformer Engine's userbuffers): each tensor-parallel
  // all-gather and reduce-scatter of an attention or dense FFN block runs in chunks beside that
  // block's GEMMs, exposed only where it outlasts them. MoE blocks' sequence-parallel gathers
  // (in the token dispatcher) stay exposed.
  bool tp_comm_overlap = false;

  // Megatron's sequence parallelism: with tp > 1 each TP rank keeps 1/tp of a micro-batch's
  // tokens outside the tensor-parallel GEMMs (norms, dropout, the MoE layer's input), with
  // reduce-scatter and all-gather in place of the all-reduce. Megatron-Core requires it for MoE
  // with TP, and moesim models only that: false is refused when tp > 1.
  bool sequence_parallel = true;

  int world() const { return dp * cp * tp * pp; }
  int gpus_per_stage() const { return dp * cp * tp; }
  // The ranks that hold the same weights of a dense layer and reduce their gradients together.
  int dense_replicas() const { return dp * cp; }
  int edp() const { return gpus_per_stage() / (ep * etp); }
  int ep_group_gpus() const { return ep * etp; }
  // Tokens of a micro-batch on one CP rank (its share of each sequence), before the TP split.
  int tokens_per_cp_rank() const { return micro_batch_size * seq_len / cp; }
  // Tokens entering the MoE layer on one GPU per micro-batch: TP ranks split the CP rank's
  // tokens before dispatch, as Megatron-Core does with sequence parallelism.
  int tokens_per_gpu() const { return tokens_per_cp_rank() / tp; }
  double tokens_per_step() const { return double(dp) * micro_batch_size * micro_batches * seq_len; }
  int virtual_stages() const { return pp * vp; }
  // Transformer layers per virtual stage, in model order (Megatron-Core's
  // --pipeline-model-parallel-layout, counting decoder layers; the embedding stays on the first
  // stage, the output layer and any MTP modules on the last); empty: as even as whole layers
  // allow.
  std::vector<int> pipeline_layout;
  // Virtual stage j holds layers [first_layer(j), first_layer(j+1)); pipeline stage s holds
  // virtual stages s, s + pp, ..., s + (vp-1) pp.
  int first_layer(int virtual_stage, int layers) const {
    if (pipeline_layout.empty()) return virtual_stage * layers / virtual_stages();
    return std::accumulate(pipeline_layout.begin(), pipeline_layout.begin() + virtual_stage, 0);
  }
  // The virtual stage (model chunk) that holds `layer`.
  int chunk_of_layer(int layer, int layers) const {
    int j = virtual_stages() - 1;
    while (j > 0 && first_layer(j, layers) > layer) --j;
    return j;
  }
  // Calls f(layer) for every layer that pipeline stage `stage` holds, in forward order.
  template <class F>
  void for_each_stage_layer(int stage, int layers, F f) const {
    for (int chunk = 0; chunk < vp; ++chunk)
      for (int l = first_layer(chunk * pp + stage, layers); l < first_layer(chunk * pp + stage + 1, layers); ++l) f(l);
  }
};

// Why a plan cannot run: the plan key at fault ("" for the plan as a whole) and one sentence.
struct PlanProblem {
  std::string key;
  std::string sentence;
  explicit operator bool() const { return !sentence.empty(); }
};

// The first reason why the plan cannot run this model on this cluster; empty if it can.
PlanProblem plan_problem(const ParallelPlan& plan, const ModelSpec& model, const ClusterSpec& cluster);
// Why overlap_ep_comm cannot be on for this plan; empty if it can (or is off).
PlanProblem ep_overlap_problem(const ParallelPlan& plan);

}  // namespace moesim
