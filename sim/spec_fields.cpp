// The scenario keys of the fixed specs. Adding a key is one line here.
#include "sim/spec_fields.hpp"

#include "sim/des/collectives.hpp"
#include "sim/scenario.hpp"

namespace moesim {

namespace {

template <class Spec>
Field<Spec> int_field(const std::string& key, int Spec::*member, double min, const std::string& help,
                      double default_value = 0) {
  return {{key, ParamKind::INTEGER, default_value, help, std::nullopt, min},
          [member](Spec& s, const ParamValue& v) { s.*member = int(std::get<double>(v)); },
          [member](const Spec& s) { return ParamValue(double(s.*member)); }};
}

template <class Spec>
Field<Spec> bool_field(const std::string& key, bool Spec::*member, bool default_value, const std::string& help) {
  return {{key, ParamKind::BOOLEAN, default_value, help},
          [member](Spec& s, const ParamValue& v) { s.*member = std::get<bool>(v); },
          [member](const Spec& s) { return ParamValue(s.*member); }};
}

template <class Spec>
Field<Spec> optional_int_field(const std::string& key, std::optional<int> Spec::*member, double min,
                               const std::string& help) {
  return {{key, ParamKind::OPTIONAL_INTEGER, std::monostate(), help, std::nullopt, min},
          [member](Spec& s, const ParamValue& v) {
            if (const double* d = std::get_if<double>(&v)) s.*member = int(*d);
            else (s.*member).reset();
          },
          [member](const Spec& s) { return s.*member ? ParamValue(double(*(s.*member))) : ParamValue(std::monostate()); }};
}

// A number given in the key's unit and stored in SI (value * to_si).
template <class Spec>
Field<Spec> number_field(const std::string& key, double Spec::*member, double to_si, const std::string& help,
                         std::optional<double> exclusive_min = 0.0, std::optional<double> inclusive_max = std::nullopt) {
  ParamSpec spec{key, ParamKind::NUMBER, 0.0, help, exclusive_min};
  spec.inclusive_max = inclusive_max;
  return {spec, [member, to_si](Spec& s, const ParamValue& v) { s.*member = std::get<double>(v) * to_si; },
          [member, to_si](const Spec& s) { return ParamValue(s.*member / to_si); }};
}

// A time that may be 0 but not negative (latencies, per-kernel overheads), given in us.
template <class Spec>
Field<Spec> duration_us_field(const std::string& key, double Spec::*member, const std::string& help) {
  Field<Spec> field = number_field(key, member, 1e-6, help, std::nullopt);
  field.spec.inclusive_min = 0.0;
  return field;
}

// A share in (0, 1] stored on the cluster's GPU: the GPU preset's value unless the scenario sets it.
Field<ClusterSpec> gpu_share_field(const std::string& key, double GpuSpec::*member, double default_value,
                                   const std::string& help) {
  return {{key, ParamKind::NUMBER, default_value, help, 0.0, std::nullopt, 1.0},
          [member](ClusterSpec& c, const ParamValue& v) { c.gpu.*member = std::get<double>(v); },
          [member](const ClusterSpec& c) { return ParamValue(c.gpu.*member); }};
}

// FP8 attention's efficiency on the cluster's GPU, in [0, 1]: 0 where the GPU's preset has no
// measurement (a scenario that asks for that attention dtype is refused).
Field<ClusterSpec> fp8_attention_field(const std::string& key, double GpuSpec::*member, const std::string& help) {
  Field<ClusterSpec> field = gpu_share_field(key, member, 0.0, help);
  field.spec.exclusive_min = std::nullopt;
  field.spec.inclusive_min = 0.0;
  return field;
}

template <class Spec>
Field<Spec> choice_field(const std::string& key, std::string Spec::*member, const std::string& help,
                         std::vector<std::string> allowed) {
  return {{key, ParamKind::CHOICE, allowed.front(), help, std::nullopt, std::nullopt, std::nullopt, allowed},
          [member](Spec& s, const ParamValue& v) { s.*member = std::get<std::string>(v); },
          [member](const Spec& s) { return ParamValue(s.*member); }};
}

template <class Spec>
Field<Spec> optional_number_field(const std::string& key, std::optional<double> Spec::*member, const std::string& help) {
  return {{key, ParamKind::OPTIONAL_NUMBER, std::monostate(), help, 0.0, std::nullopt, std::nullopt, {}},
          [member](Spec& s, const ParamValue& v) {
            if (const double* d = std::get_if<double>(&v)) s.*member = *d;
            else (s.*member).reset();
          },
          [member](const Spec& s) { return (s.*member) ? ParamValue(*(s.*member)) : ParamValue(std::monostate()); }};
}

template <class Spec>
Field<Spec> dtype_field(const std::string& key, Dtype Spec::*member, const std::string& help,
                        std::vector<std::string> allowed = {"bf16", "fp8", "fp32"}) {
  return {{key, ParamKind::CHOICE, allowed.front(), help, std::nullopt, std::nullopt, std::nullopt, allowed},
          [member](Spec& s, const ParamValue& v) { s.*member = *parse_dtype(std::get<std::string>(v)); },
          [member](const Spec& s) { return ParamValue(std::string(dtype_name(s.*member))); }};
}

constexpr double GB = 1e9, US = 1e-6;

}  // namespace

const FieldTable<ClusterSpec>& cluster_fields() {
  static const FieldTable<ClusterSpec> fields = {
      {{"gpu", ParamKind::TEXT, std::string(),
        "GPU preset (resets nvlink_GBps, the attention efficiencies and training_tensor_fraction to the GPU's)"},
       [](ClusterSpec& c, const ParamValue& v) {
         c.gpu = *gpu_presets().find(std::get<std::string>(v));
         c.nvlink_Bps = c.gpu.nvlink_Bps;
       },
       [](const ClusterSpec& c) { return ParamValue(c.gpu.name); }},
      int_field("nodes", &ClusterSpec::nodes, 1, "number of nodes"),
      int_field("gpus_per_node", &ClusterSpec::gpus_per_node, 1, "GPUs per node, all on one NVSwitch"),
      number_field("nvlink_GBps", &ClusterSpec::nvlink_Bps, GB, "scale-up bandwidth per GPU per direction, GB/s"),
      duration_us_field("nvlink_latency_us", &ClusterSpec::nvlink_latency_s, "GPU-to-GPU latency in the node, us"),
      number_field("nic_GBps", &ClusterSpec::nic_Bps, GB, "NIC bandwidth per GPU per direction, GB/s"),
      duration_us_field("nic_latency_us", &ClusterSpec::nic_latency_s, "NIC-to-NIC latency across one leaf, us"),
      {{"fabric", ParamKind::CHOICE, std::string("rail_optimized"), "inter-node fabric", std::nullopt, std::nullopt,
        std::nullopt, {"rail_optimized", "fat_tree"}},
       [](ClusterSpec& c, const ParamValue& v) {
         c.fabric = std::get<std::string>(v) == "fat_tree" ? InterNodeFabric::FAT_TREE : InterNodeFabric::RAIL_OPTIMIZED;
       },
       [](const ClusterSpec& c) { return ParamValue(fabric_name(c.fabric)); }},
      int_field("nodes_per_leaf", &ClusterSpec::nodes_per_leaf, 1, "nodes per rail group (rail) or per leaf (fat tree)"),
      {{"oversubscription", ParamKind::NUMBER, 1.0, "leaf downlink:uplink bandwidth ratio (1 = non-blocking)",
        std::nullopt, 1.0},
       [](ClusterSpec& c, const ParamValue& v) { c.oversubscription = std::get<double>(v); },
       [](const ClusterSpec& c) { return ParamValue(c.oversubscription); }},
      number_field("gemm_efficiency", &ClusterSpec::gemm_efficiency, 1, "achieved/peak FLOP/s of large BF16 GEMMs", 0.0, 1.0),
      number_field("fp8_gemm_efficiency", &ClusterSpec::fp8_gemm_efficiency, 1,
                   "achieved/peak FLOP/s of large FP8 GEMMs (of the FP8 peak)", 0.0, 1.0),
      gpu_share_field("attention_forward_efficiency", &GpuSpec::attention_forward_efficiency,
                      GpuSpec{}.attention_forward_efficiency,
                      "achieved/peak BF16 FLOP/s of fused attention's forward on long sequences (head dim 128); "
                      "default the GPU's, fitted on cuDNN's SDPA benchmark (validation/RESULTS.md)"),
      gpu_share_field("attention_backward_efficiency", &GpuSpec::attention_backward_efficiency,
                      GpuSpec{}.attention_backward_efficiency,
                      "achieved/peak BF16 FLOP/s of fused attention's backward (2 (3 d_qk + 2 d_v) FLOPs per score) on "
                      "long sequences; default the GPU's"),
      fp8_attention_field("attention_fp8_forward_efficiency", &GpuSpec::attention_fp8_forward_efficiency,
                          "achieved/peak FP8 FLOP/s of FP8 attention's forward (per-tensor scales, model.attention_dtype "
                          "fp8) on long sequences; default the GPU's, 0 where not measured"),
      fp8_attention_field("attention_fp8_backward_efficiency", &GpuSpec::attention_fp8_backward_efficiency,
                          "achieved/peak FP8 FLOP/s of FP8 attention's backward; default the GPU's"),
      fp8_attention_field("attention_mxfp8_forward_efficiency", &GpuSpec::attention_mxfp8_forward_efficiency,
                          "achieved/peak FP8 FLOP/s of MXFP8 attention's forward (model.attention_dtype mxfp8); default "
                          "the GPU's, 0 where not measured"),
      fp8_attention_field("attention_mxfp8_backward_efficiency", &GpuSpec::attention_mxfp8_backward_efficiency,
                          "achieved/peak FP8 FLOP/s of MXFP8 attention's backward; default the GPU's"),
      gpu_share_field("training_tensor_fraction", &GpuSpec::training_tensor_fraction, 1.0,
                      "share of the kernel rate (the efficiencies above) that GEMMs and attention keep in a training "
                      "step; default the GPU's, fitted on dense Llama 3 runs (validation/RESULTS.md)"),
      int_field("gemm_tile_rows", &ClusterSpec::gemm_tile_rows, 1, "GEMM output tile rows (rows are padded to it)"),
      int_field("gemm_tile_cols", &ClusterSpec::gemm_tile_cols, 1, "GEMM output tile columns"),
      number_field("hbm_efficiency", &ClusterSpec::hbm_efficiency, 1, "achieved/peak HBM bandwidth", 0.0, 1.0),
      number_field("nvlink_efficiency", &ClusterSpec::nvlink_efficiency, 1,
                   "payload/line rate of NVLink transfers (protocol overhead taken off)", 0.0, 1.0),
      number_field("nic_efficiency", &ClusterSpec::nic_efficiency, 1,
                   "payload/line rate of NIC transfers (protocol overhead taken off)", 0.0, 1.0),
      duration_us_field("gemm_overhead_us", &ClusterSpec::gemm_overhead_s, "fixed time per GEMM kernel, us"),
      duration_us_field("kernel_overhead_us", &ClusterSpec::kernel_overhead_s, "fixed time per memory-bound kernel, us"),
      duration_us_field("host_us_per_kernel", &ClusterSpec::host_s_per_kernel,
                        "host time per launched kernel (framework, dispatcher, launch); 0 for CUDA-graphed steps, us"),
      {{"collective_latency", ParamKind::CHOICE, std::string("nccl"),
        "all-reduce step latencies: nccl (NCCL's tuner: per protocol, a base and a per-hop latency; the fastest "
        "protocol) or links (nvlink_latency_us / nic_latency_us per ring step, as a calibration profile fits them)",
        std::nullopt, std::nullopt, std::nullopt, {"nccl", "links"}},
       [](ClusterSpec& c, const ParamValue& v) { c.nccl_latencies = std::get<std::string>(v) == "nccl"; },
       [](const ClusterSpec& c) { return ParamValue(std::string(c.nccl_latencies ? "nccl" : "links")); }},
      bool_field("nccl_nvls", &ClusterSpec::nccl_nvls, true,
                 "with collective_latency nccl: all-reduces within one NVLink domain may reduce in the NVSwitch (NVLink "
                 "SHARP, Hopper and later) where that is faster than a ring; false as under NCCL_NVLS_ENABLE=0"),
  };
  return fields;
}

const FieldTable<ModelSpec>& model_fields() {
  static const FieldTable<ModelSpec> fields = {
      int_field("layers", &ModelSpec::layers, 1, "transformer layers"),
      int_field("first_dense_layers", &ModelSpec::first_dense_layers, 0, "leading dense layers"),
      int_field("moe_layer_interval", &ModelSpec::moe_layer_interval, 0,
                "every n-th layer after those is MoE; 0: none, a dense model (the expert keys unused)"),
      int_field("d_model", &ModelSpec::d_model, 1, "hidden size"),
      int_field("d_ffn_dense", &ModelSpec::d_ffn_dense, 1, "FFN width of dense layers"),
      int_field("d_ffn_expert", &ModelSpec::d_ffn_expert, 1, "FFN width of one expert"),
      int_field("token_mixing_hidden", &ModelSpec::token_mixing_hidden, 0,
                "all-MLP models (MLP-Mixer): hidden width of the token-mixing MLP across default_seq_len patches, "
                "in place of attention (0 = attention)"),
      int_field("token_moe_channels", &ModelSpec::token_moe_channels, 0,
                "Sparse-MLP: MoE layers alternate token-mixing MoE (items: this many channel vectors per sample "
                "after the re-represent layer, each of default_seq_len values; expert hidden token_mixing_hidden) "
                "and channel-mixing MoE (0 = every MoE layer routes tokens)"),
      int_field("experts", &ModelSpec::experts, 1, "routed experts per MoE layer"),
      int_field("top_k", &ModelSpec::top_k, 1, "experts per token"),
      int_field("shared_experts", &ModelSpec::shared_experts, 0, "always-on experts per MoE layer"),
      int_field("vocab", &ModelSpec::vocab, 1, "vocabulary (or output classes)"),
      bool_field("gated_ffn", &ModelSpec::gated_ffn, true, "SwiGLU-style FFN with 3 matrices (false: 2)"),
      int_field("mtp_layers", &ModelSpec::mtp_layers, 0,
                "multi-token prediction modules (DeepSeek-V3 trains with 1): each a projection of 2 d_model to d_model, "
                "a layer like the last and one more pass through the output layer, on the last pipeline stage"),
      choice_field("expert_bias", &ModelSpec::expert_bias,
                   "biases on the experts' linear layers: none; fused (added in the GEMM or activation kernel); "
                   "per_expert (Megatron-Core 0.15/0.16 TEGroupedMLP: the output bias added after the grouped GEMM, "
                   "expert by expert, times the FP32 router probability: extra memory passes and kernels per "
                   "local expert)",
                   {"none", "fused", "per_expert"}),
      choice_field("glu_clamp", &ModelSpec::glu_clamp,
                   "clamped gated activation (GPT-OSS): none; fused (in the activation kernel); eager (Megatron-Core "
                   "0.15/0.16: both halves clamped and concatenated again in eager PyTorch before the fused "
                   "activation: extra memory passes and kernels per expert row)",
                   {"none", "fused", "eager"}),
      int_field("default_seq_len", &ModelSpec::default_seq_len, 1, "tokens per sample when the plan gives none"),
      {{"attention", ParamKind::CHOICE, std::string("gqa"), "attention kind", std::nullopt, std::nullopt, std::nullopt,
        {"gqa", "mla"}},
       [](ModelSpec& m, const ParamValue& v) {
         m.attention.kind = std::get<std::string>(v) == "mla" ? AttentionKind::MLA : AttentionKind::GQA;
       },
       [](const ModelSpec& m) { return ParamValue(std::string(m.attention.kind == AttentionKind::MLA ? "mla" : "gqa")); }},
  };
  static const FieldTable<ModelSpec> all = [] {
    FieldTable<ModelSpec> out = fields;
    // Attention shape: plain integers inside ModelSpec::attention (least value, which is also
    // the default shown; help where the key does not say it all).
    struct AttentionInt {
      std::string key;
      int AttentionSpec::*member;
      double min;
      std::string help;
    };
    const std::vector<AttentionInt> attention_ints = {
        {"heads", &AttentionSpec::heads, 0, ""},
        {"kv_heads", &AttentionSpec::kv_heads, 0, ""},
        {"head_dim", &AttentionSpec::head_dim, 0, ""},
        {"q_lora_rank", &AttentionSpec::q_lora_rank, 0, ""},
        {"kv_lora_rank", &AttentionSpec::kv_lora_rank, 0, ""},
        {"qk_nope_head_dim", &AttentionSpec::qk_nope_head_dim, 0, ""},
        {"qk_rope_head_dim", &AttentionSpec::qk_rope_head_dim, 0, ""},
        {"v_head_dim", &AttentionSpec::v_head_dim, 0, ""},
        {"sliding_window", &AttentionSpec::sliding_window, 0,
         "keys each query sees in windowed layers (0: full causal attention everywhere)"},
        {"sliding_window_every", &AttentionSpec::sliding_window_every, 1,
         "windowed layers are every n-th from layer 0 (GPT-OSS: 2, Mistral-7B: 1)"},
    };
    for (const AttentionInt& a : attention_ints) {
      out.push_back({{a.key, ParamKind::INTEGER, a.min, "attention: " + (a.help.empty() ? a.key : a.help), std::nullopt, a.min},
                     [member = a.member](ModelSpec& m, const ParamValue& v) { m.attention.*member = int(std::get<double>(v)); },
                     [member = a.member](const ModelSpec& m) { return ParamValue(double(m.attention.*member)); }});
    }
    out.push_back({{"qk_norm", ParamKind::BOOLEAN, false,
                    "attention: RMSNorm of each query and key head before attention (Qwen3, OLMoE)"},
                   [](ModelSpec& m, const ParamValue& v) { m.attention.qk_norm = std::get<bool>(v); },
                   [](const ModelSpec& m) { return ParamValue(m.attention.qk_norm); }});
    out.push_back(dtype_field("compute_dtype", &ModelSpec::compute_dtype, "GEMM dtype", {"bf16", "fp8"}));
    out.push_back({{"attention_dtype", ParamKind::CHOICE, std::string("bf16"),
                    "fused attention's precision: bf16; fp8 or mxfp8 (Transformer Engine's fp8_dot_product_attention "
                    "with per-tensor or MXFP8 block scales; needs compute_dtype fp8 and the GPU's FP8 attention "
                    "efficiencies)",
                    std::nullopt, std::nullopt, std::nullopt, {"bf16", "fp8", "mxfp8"}},
                   [](ModelSpec& m, const ParamValue& v) {
                     m.attention_dtype = *parse_attention_dtype(std::get<std::string>(v));
                   },
                   [](const ModelSpec& m) { return ParamValue(std::string(attention_dtype_name(m.attention_dtype))); }});
    out.push_back(dtype_field("dispatch_dtype", &ModelSpec::dispatch_dtype, "dtype of dispatched tokens"));
    out.push_back(dtype_field("combine_dtype", &ModelSpec::combine_dtype, "dtype of combined expert outputs"));
    return out;
  }();
  return all;
}

const FieldTable<ParallelPlan>& plan_fields() {
  static const FieldTable<ParallelPlan> fields = {
      int_field("dp", &ParallelPlan::dp, 1, "data-parallel degree"),
      int_field("tp", &ParallelPlan::tp, 1, "tensor-parallel degree (attention and dense layers)"),
      int_field("cp", &ParallelPlan::cp, 1,
                "context-parallel degree: each rank keeps 1/cp of every sequence, attention passes keys and values "
                "round a ring (Megatron-Core's p2p context parallelism); gpus = dp*cp*tp*pp"),
      int_field("pp", &ParallelPlan::pp, 1, "pipeline-parallel degree (1F1B)"),
      int_field("vp", &ParallelPlan::vp, 1,
                "model chunks per pipeline stage: interleaved 1F1B, bubble (pp-1)/(vp*micro_batches) (Megatron's "
                "virtual pipeline)"),
      int_field("ep", &ParallelPlan::ep, 1, "expert-parallel degree"),
      int_field("etp", &ParallelPlan::etp, 1, "expert tensor-parallel degree"),
      int_field("micro_batch_size", &ParallelPlan::micro_batch_size, 1, "sequences per micro-batch per DP rank"),
      int_field("micro_batches", &ParallelPlan::micro_batches, 1, "micro-batches per step per DP rank"),
      int_field("seq_len", &ParallelPlan::seq_len, 1, "tokens per sequence (default: the model's)"),
      choice_field("recompute", &ParallelPlan::recompute,
                   "activation recomputation: none, selective (recompute_modules) or full (layer inputs kept, forward "
                   "recomputed in backward)",
                   {"none", "selective", "full"}),
      {{"recompute_modules", ParamKind::CHOICE_LIST, std::vector<std::string>{"core_attn"},
        "with recompute selective: what the backward runs forward again (Megatron's --recompute-modules): core_attn "
        "(the attention kernel), layernorm (both norms), mla_up_proj (MLA's up-projections), mlp (dense layers' FFN), "
        "shared_experts, moe_act (the experts' activation)",
        std::nullopt, std::nullopt, std::nullopt,
        {"core_attn", "layernorm", "mla_up_proj", "mlp", "shared_experts", "moe_act"}},
       [](ParallelPlan& p, const ParamValue& v) { p.recompute_modules = std::get<std::vector<std::string>>(v); },
       [](const ParallelPlan& p) { return ParamValue(p.recompute_modules); }},
      {{"cuda_graph_scope", ParamKind::CHOICE_LIST, std::vector<std::string>{},
        "parts of each layer captured in CUDA graphs (Megatron's --cuda-graph-scope, Transformer Engine graphs): the "
        "host launches each as one replay per pass: attn, mlp (dense FFN), moe_router, moe_preprocess (no effect: "
        "not priced apart), layer (each whole layer, Megatron-Core's --enable-cuda-graph; MoE layers need "
        "router.pad_to_capacity); a whole captured step is cluster.host_us_per_kernel 0",
        std::nullopt, std::nullopt, std::nullopt, {"attn", "mlp", "moe_router", "moe_preprocess", "layer"}},
       [](ParallelPlan& p, const ParamValue& v) { p.cuda_graph_scope = std::get<std::vector<std::string>>(v); },
       [](const ParallelPlan& p) { return ParamValue(p.cuda_graph_scope); }},
      int_field("recompute_layers", &ParallelPlan::recompute_layers, 0,
                "with recompute full: only the first N layers of each model chunk recompute (Megatron's "
                "--recompute-method block --recompute-num-layers N); 0: every layer"),
      bool_field("sequence_parallel", &ParallelPlan::sequence_parallel, true,
                 "Megatron's sequence parallelism: with tp > 1 each TP rank keeps 1/tp of the tokens outside the "
                 "tensor-parallel GEMMs (norms, the MoE layer's input); required for MoE with TP, so false is refused "
                 "when tp > 1"),
      {{"pipeline_layout", ParamKind::INTEGER_LIST, std::vector<double>{},
        "transformer layers per virtual stage in model order (pp*vp entries summing to the model's layers; Megatron's "
        "--pipeline-model-parallel-layout counting decoder layers: the embedding stays on the first stage, the output "
        "layer on the last); empty: as even as whole layers allow",
        std::nullopt, 0.0},
       [](ParallelPlan& p, const ParamValue& v) {
         p.pipeline_layout.clear();
         for (double layers : std::get<std::vector<double>>(v)) p.pipeline_layout.push_back(int(layers));
       },
       [](const ParallelPlan& p) {
         return ParamValue(std::vector<double>(p.pipeline_layout.begin(), p.pipeline_layout.end()));
       }},
      bool_field("distributed_optimizer", &ParallelPlan::distributed_optimizer, false,
                 "ZeRO-1: optimizer state sharded over the (expert-)data-parallel group; reduce-scatter and all-gather "
                 "instead of all-reduce (Megatron's --use-distributed-optimizer)"),
      bool_field("fsdp", &ParallelPlan::fsdp, false,
                 "fully sharded data parallelism (Megatron-FSDP, optim_grads_params): weights, gradients and optimizer "
                 "state sharded over the (expert-)data-parallel group; each layer's weights all-gathered before its "
                 "forward and its backward (the next layer's during this one's), its gradients reduce-scattered after "
                 "every backward"),
      dtype_field("gradient_dtype", &ParallelPlan::gradient_dtype,
                  "dtype of the gradient buffer and of the gradient sync: fp32 (Megatron-LM's default for BF16 "
                  "training) or bf16 (grad_reduce_in_fp32 = false, as Megatron-Bridge's performance recipes run)",
                  {"fp32", "bf16"}),
      bool_field("tp_comm_overlap", &ParallelPlan::tp_comm_overlap, false,
                 "run each tensor-parallel all-gather and reduce-scatter of an attention or dense FFN block beside that "
                 "block's GEMMs, exposed only where longer (Megatron's --tp-comm-overlap, Transformer Engine "
                 "userbuffers; MoE blocks' gathers stay exposed)"),
      bool_field("overlap_grad_reduce", &ParallelPlan::overlap_grad_reduce, false,
                 "reduce each layer's gradients on a communication stream during the last micro-batch's backward "
                 "(Megatron's --overlap-grad-reduce; with distributed_optimizer the weight all-gather runs beside the "
                 "next step's first forward, each layer waiting for its weights, --overlap-param-gather)"),
      bool_field("overlap_shared_experts", &ParallelPlan::overlap_shared_experts, false,
                 "run shared experts while the all-to-alls run: input projections during dispatch, output projection "
                 "during combine (Megatron's --moe-shared-expert-overlap)"),
      choice_field("dispatch_copies", &ParallelPlan::dispatch_copies,
                   "what the dispatch sends (and the combine returns): per_rank, a token once to each EP rank that "
                   "holds one of its experts; per_node, as per_rank inside the source's node, and once per "
                   "other node over the NIC to the rank on the source's rail there, which forwards it over "
                   "NVLink (DeepEP normal, Hybrid-EP); per_expert, one row per (token, expert) (Megatron-Core's "
                   "alltoall dispatcher over NCCL)",
                   {"per_rank", "per_node", "per_expert"}),
      choice_field("expert_gemms", &ParallelPlan::expert_gemms,
                   "how a GPU's expert GEMMs run: grouped, one persistent grouped kernel over all local experts "
                   "(CUTLASS grouped GEMM, DeepGEMM, fused grouped MLP kernels); per_expert, one GEMM per local "
                   "expert, each with its own tile and wave quantization (Transformer Engine's GroupedLinear)",
                   {"grouped", "per_expert"}),
      int_field("ep_comm_sms", &ParallelPlan::ep_comm_sms, 0,
                "SMs the expert-parallel all-to-all kernels hold while they run; compute beside them gets the rest "
                "(DeepSeek-V3: 20 of 132 on H800)"),
      bool_field("overlap_ep_comm", &ParallelPlan::overlap_ep_comm, false,
                 "combined 1F1B: in the steady phase a forward and a backward of different micro-batches run together, "
                 "each one's dispatch and combine hidden behind the other's computation (Megatron's "
                 "--overlap-moe-expert-parallel-comm; needs ep > 1 and, with pp > 1, vp > 1)"),
  };
  return fields;
}

const FieldTable<SimSpec>& sim_fields() {
  static const FieldTable<SimSpec> fields = {
      choice_field("engine", &SimSpec::engine, "analytic (closed forms) or des (SimGrid)", {"analytic", "des"}),
      choice_field("all_to_all", &SimSpec::all_to_all, "des: all-to-all algorithm (moesim presets lists them)",
                   all_to_all_algorithms().names()),
      choice_field("transfers", &SimSpec::transfers,
                   "des: grouped (one SimGrid parallel task per phase and rail, fast) or per_pair (one flow per GPU "
                   "pair, the reference for small clusters)",
                   {"grouped", "per_pair"}),
      int_field("trace_gpus_per_stage", &SimSpec::trace_gpus_per_stage, 0,
                "GPUs per pipeline stage whose spans go to trace.json (the first ones of each stage)", 8),
      optional_number_field("max_memory_gib", &SimSpec::max_memory_gib,
                            "memory the run may use, GiB (null = this machine's physical memory); a run estimated "
                            "or measured above it stops with a message"),
      optional_number_field("max_wall_s", &SimSpec::max_wall_s,
                            "wall-clock seconds the run may take (null = no limit); a run estimated or measured "
                            "above it stops with a message"),
      optional_int_field("routed_micro_batches", &SimSpec::routed_micro_batches, 1,
                         "micro-batches of one EP group routed token by token (null = all); the rest are taken to "
                         "behave alike"),
      optional_int_field("routed_layers", &SimSpec::routed_layers, 1,
                         "MoE layers routed token by token (null = all); the others reuse their loads in turn (for "
                         "quick studies of deep models: the layers of the source differ only by their draw)"),
      int_field("steps", &SimSpec::steps, 1,
                "training steps routed in turn (moesim routers / place: step time p50 and p99 over them); scores "
                "drift and stateful routers learn between steps",
                1),
      optional_int_field("replan_every", &SimSpec::replan_every, 1,
                         "re-plan the placement every N steps from the previous step's loads, charging the "
                         "migration of moved experts to that step (null = plan once)"),
  };
  return fields;
}

}  // namespace moesim
