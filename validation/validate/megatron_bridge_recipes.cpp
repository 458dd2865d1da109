#include "validation/validate/megatron_bridge_recipes.hpp"

#include <algorithm>
#include <regex>
#include <set>
#include <sstream>

#include "hardware/input_error.hpp"
#include "hardware/registry.hpp"

namespace moesim::validation {

namespace {

using Graphs = BridgeRecipe::Graphs;
using Dispatcher = BridgeRecipe::Dispatcher;

// Precision classes of the recipes' names (..._BF16_..., _FP8_CS_, _FP8_MX_).
enum class Precision { ANY, BF16, FP8_CS, FP8_MX };

Precision precision_of(const std::string& text) {
  if (text.find("BF16") != std::string::npos) return Precision::BF16;
  if (text.find("MX") != std::string::npos) return Precision::FP8_MX;
  return Precision::FP8_CS;  // "FP8-CS", and the plain "FP8" of 25.09 and of H100 rows (tensorwise)
}

struct Row {
  const char* release;
  const char* model;  // moesim's preset
  const char* gpu;    // moesim's preset
  Precision precision;
  int global_batch;  // 0: any
  Graphs graphs;
  const char* scopes;  // comma-separated, PARTS only
  bool a2a_overlap;
  bool fused_mlp;         // cutedsl_fused_grouped_mlp: the experts' MLP in fused kernels
  const char* recompute;  // comma-separated selective modules ("" none)
  Dispatcher dispatcher;
  const char* config;
  bool fp8_attention = false;  // fp8_dot_product_attention (26.06's FP8 recipes on GB200, GB300, B300)
};

constexpr auto NONE = Graphs::NONE, PARTS = Graphs::PARTS, STEP = Graphs::STEP;
constexpr auto NCCL = Dispatcher::NCCL_ALL_TO_ALL, HYBRID = Dispatcher::HYBRID_EP, DEEP = Dispatcher::DEEP_EP;
constexpr auto ANY = Precision::ANY, BF16 = Precision::BF16, FP8_CS = Precision::FP8_CS, FP8_MX = Precision::FP8_MX;
constexpr const char* ROUTER = "moe_router,moe_preprocess";
constexpr const char* ATTN_ROUTER = "attn,moe_router,moe_preprocess";

// Megatron-Bridge's performance recipes (github.com/NVIDIA-NeMo/Megatron-Bridge), per release:
// 25.11 at tag v0.2.0 (scripts/performance/configs/<model>/workload_base_configs.py, constants
// <MODEL>_<GPU>_<PRECISION>_BASE_CONFIG), 26.02 at v0.3.0, 26.02.01 at v0.3.1, 26.04 at v0.4.0,
// 26.04.01 at v0.4.2 (the first tag whose plans are that table's) and 26.06 at v0.5.0
// (configs/<family>/<model>_workload_base_configs.py, <MODEL>_PRETRAIN_CONFIG_<GPU>_<PRECISION>_V1
// or _V2 by global batch); what utils/overrides.py (helpers.py in v0.2.0) makes of them:
// cuda_graph_impl "transformer_engine" graphs the scopes listed, "full_iteration" the whole step;
// moe_a2a_overlap turns on overlap_moe_expert_parallel_comm (and the shared-expert overlap off);
// cutedsl_fused_grouped_mlp runs the experts' MLP in Transformer Engine's fused grouped kernels
// (use_transformer_engine_op_fuser), biases and the activation's clamp inside them;
// fp8_dot_product_attention (mixed_precision) runs attention in FP8 too;
// moe_flex_dispatcher_backend "hybridep" runs HybridEP on 32 SMs (moe_hybridep_num_sms = 32),
// none the NCCL all-to-all dispatcher. 25.09 (no such files yet): scripts/performance/run_script.py
// and configs/*.yaml @ fa0315ae2, the commit of the 25.09 table: the DeepSeek-V3 H100 run's
// DeepEP and all-to-all overlap (A2A_1F1B), its recomputed modules, and its cuda_graphs:
// Megatron-Core 0.14's whole-layer graphs (enable_cuda_graph, cuda_graph_scope "layer"; they
// need the drop-and-pad MoE these token-drop runs use), on for Qwen3-30B-A3B on GB200 and B200
// and Qwen3-235B-A22B on GB200 (configs/qwen3/*_llm_pretrain.yaml perf_matrix, no recomputation
// there). DeepSeek-V3's files ask for graphs together with recomputation, which Megatron-Core
// 0.14 refuses, so its graphs are not what every row ran: left out.
// Where a row's own plan differs from the recipe's (the table's plan wins), the settings still
// come from the recipe of the row's system and precision.
constexpr Row ROWS[] = {
    // 25.09
    {"25.09", "deepseek-v3", "h100-sxm", ANY, 0, NONE, "", true, false, "mla_up_proj,mlp", DEEP, "fa0315ae2 run_script.py deepseek v3 h100"},
    {"25.09", "deepseek-v3", "b200", ANY, 0, NONE, "", false, false, "core_attn", NCCL, "fa0315ae2 run_script.py deepseek v3 b200 (tokendrop)"},
    {"25.09", "deepseek-v3", "gb200", ANY, 0, NONE, "", false, false, "mla_up_proj,mlp,moe_act", NCCL, "fa0315ae2 run_script.py deepseek v3 gb200 (tokendrop)"},
    {"25.09", "qwen3-30b-a3b", "gb200", ANY, 0, PARTS, "layer", false, false, "", NCCL, "fa0315ae2 qwen3_30b_a3b_llm_pretrain.yaml gb200 (tokendrop, cuda_graphs)"},
    {"25.09", "qwen3-30b-a3b", "b200", ANY, 0, PARTS, "layer", false, false, "", NCCL, "fa0315ae2 qwen3_30b_a3b_llm_pretrain.yaml b200 (tokendrop, cuda_graphs)"},
    {"25.09", "qwen3-30b-a3b", "", ANY, 0, NONE, "", false, false, "", NCCL, "fa0315ae2 run_script.py qwen3 30b_a3b (tokendrop)"},
    {"25.09", "qwen3-235b-a22b", "gb200", ANY, 0, PARTS, "layer", false, false, "", NCCL, "fa0315ae2 qwen3_235b_a22b_llm_pretrain.yaml gb200 (tokendrop, cuda_graphs)"},
    {"25.09", "qwen3-235b-a22b", "", ANY, 0, NONE, "", false, false, "", NCCL, "fa0315ae2 run_script.py qwen3 235b_a22b (tokendrop)"},
    // 25.11
    {"25.11", "deepseek-v3", "b200", ANY, 0, NONE, "", false, false, "mla_up_proj", NCCL, "v0.2.0 DEEPSEEK_V3_B200_FP8_MX_BASE_CONFIG"},
    {"25.11", "deepseek-v3", "gb200", ANY, 0, PARTS, ROUTER, false, false, "mla_up_proj", HYBRID, "v0.2.0 DEEPSEEK_V3_GB200_BF16_BASE_CONFIG"},
    {"25.11", "deepseek-v3", "gb300", ANY, 0, PARTS, ATTN_ROUTER, false, false, "moe_act", HYBRID, "v0.2.0 DEEPSEEK_V3_GB300_*_BASE_CONFIG"},
    {"25.11", "gpt-oss-120b", "b200", ANY, 0, NONE, "", false, false, "layernorm,moe_act", NCCL, "v0.2.0 GPT_OSS_120B_B200_BF16_BASE_CONFIG"},
    {"25.11", "gpt-oss-120b", "gb200", ANY, 0, NONE, "", false, false, "layernorm,moe_act", NCCL, "v0.2.0 GPT_OSS_120B_GB200_BF16_BASE_CONFIG"},
    {"25.11", "gpt-oss-120b", "gb300", ANY, 0, PARTS, ATTN_ROUTER, false, false, "", NCCL, "v0.2.0 GPT_OSS_120B_GB300_BF16_BASE_CONFIG"},
    {"25.11", "gpt-oss-120b", "h100-sxm", ANY, 0, NONE, "", false, false, "layernorm,moe_act", NCCL, "v0.2.0 GPT_OSS_120B_H100_BF16_BASE_CONFIG"},
    {"25.11", "qwen3-235b-a22b", "b200", ANY, 0, NONE, "", true, false, "", NCCL, "v0.2.0 QWEN3_235B_A22B_B200_FP8_MX_BASE_CONFIG"},
    {"25.11", "qwen3-30b-a3b", "gb200", FP8_MX, 0, PARTS, ROUTER, false, false, "", HYBRID, "v0.2.0 QWEN3_30B_A3B_GB200_FP8_MX_BASE_CONFIG"},
    {"25.11", "qwen3-235b-a22b", "gb200", ANY, 0, PARTS, ATTN_ROUTER, false, false, "", HYBRID, "v0.2.0 QWEN3_235B_A22B_GB200_BF16_BASE_CONFIG"},
    {"25.11", "qwen3-235b-a22b", "gb300", ANY, 0, PARTS, ROUTER, false, false, "", HYBRID, "v0.2.0 QWEN3_235B_A22B_GB300_BF16_BASE_CONFIG"},
    {"25.11", "qwen3-235b-a22b", "h100-sxm", ANY, 0, NONE, "", true, false, "", NCCL, "v0.2.0 QWEN3_235B_A22B_H100_FP8_CS_BASE_CONFIG"},
    {"25.11", "qwen3-30b-a3b", "b200", ANY, 0, PARTS, ROUTER, false, false, "", NCCL, "v0.2.0 QWEN3_30B_A3B_B200_FP8_MX_BASE_CONFIG"},
    {"25.11", "qwen3-30b-a3b", "gb300", ANY, 0, PARTS, ROUTER, false, false, "", HYBRID, "v0.2.0 QWEN3_30B_A3B_GB300_FP8_MX_BASE_CONFIG"},
    {"25.11", "qwen3-30b-a3b", "h100-sxm", ANY, 0, NONE, "", true, false, "", NCCL, "v0.2.0 QWEN3_30B_A3B_H100_FP8_CS_BASE_CONFIG"},
    // 26.02
    {"26.02", "deepseek-v3", "b300", ANY, 0, NONE, "", false, false, "mla_up_proj", HYBRID, "v0.3.0 DEEPSEEK_V3_PRETRAIN_CONFIG_B300_FP8_MX_V2"},
    {"26.02", "deepseek-v3", "gb200", ANY, 0, PARTS, ATTN_ROUTER, false, false, "mla_up_proj", HYBRID, "v0.3.0 DEEPSEEK_V3_PRETRAIN_CONFIG_GB200_FP8_MX_V2"},
    {"26.02", "gpt-oss-120b", "b200", ANY, 0, NONE, "", false, false, "layernorm,moe_act", NCCL, "v0.3.0 GPT_OSS_120B_PRETRAIN_CONFIG_B200_BF16_V2"},
    {"26.02", "gpt-oss-120b", "b300", ANY, 0, PARTS, ATTN_ROUTER, false, false, "", NCCL, "v0.3.0 GPT_OSS_120B_PRETRAIN_CONFIG_B300_BF16_V2"},
    {"26.02", "gpt-oss-120b", "gb300", ANY, 0, PARTS, ATTN_ROUTER, false, false, "", NCCL, "v0.3.0 GPT_OSS_120B_PRETRAIN_CONFIG_GB300_BF16_V2"},
    {"26.02", "gpt-oss-120b", "h100-sxm", ANY, 0, NONE, "", false, false, "layernorm,moe_act", NCCL, "v0.3.0 GPT_OSS_120B_PRETRAIN_CONFIG_H100_BF16_V2"},
    {"26.02", "qwen3-235b-a22b", "b200", ANY, 0, NONE, "", false, false, "", NCCL, "v0.3.0 QWEN3_235B_A22B_PRETRAIN_CONFIG_B200_FP8_MX_V2"},
    {"26.02", "qwen3-235b-a22b", "gb200", ANY, 0, PARTS, ATTN_ROUTER, false, false, "", HYBRID, "v0.3.0 QWEN3_235B_A22B_PRETRAIN_CONFIG_GB200_FP8_MX_V2"},
    {"26.02", "qwen3-235b-a22b", "gb300", ANY, 0, PARTS, ATTN_ROUTER, false, false, "", HYBRID, "v0.3.0 QWEN3_235B_A22B_PRETRAIN_CONFIG_GB300_FP8_MX_V2"},
    {"26.02", "qwen3-235b-a22b", "h100-sxm", ANY, 0, NONE, "", true, false, "", NCCL, "v0.3.0 QWEN3_235B_A22B_PRETRAIN_CONFIG_H100_FP8_CS_V2"},
    {"26.02", "deepseek-v3", "gb300", ANY, 0, NONE, "", false, false, "mla_up_proj", HYBRID, "v0.3.0 DEEPSEEK_V3_PRETRAIN_CONFIG_GB300_FP8_MX_V2"},
    {"26.02", "deepseek-v3", "b200", ANY, 0, NONE, "", false, false, "mla_up_proj", HYBRID, "v0.3.0 DEEPSEEK_V3_PRETRAIN_CONFIG_B200_FP8_MX_V2"},
    {"26.02", "gpt-oss-120b", "gb200", ANY, 0, NONE, "", false, false, "layernorm,moe_act", NCCL, "v0.3.0 GPT_OSS_120B_PRETRAIN_CONFIG_GB200_BF16_V2"},
    {"26.02", "qwen3-235b-a22b", "b300", ANY, 0, NONE, "", true, false, "", NCCL, "v0.3.0 QWEN3_235B_A22B_PRETRAIN_CONFIG_B300_FP8_MX_V2"},
    {"26.02", "qwen3-30b-a3b", "gb300", ANY, 0, PARTS, ROUTER, false, false, "", HYBRID, "v0.3.0 QWEN3_30B_A3B_PRETRAIN_CONFIG_GB300_FP8_MX_V1"},
    {"26.02", "qwen3-30b-a3b", "b200", ANY, 0, PARTS, ROUTER, false, false, "", NCCL, "v0.3.0 QWEN3_30B_A3B_PRETRAIN_CONFIG_B200_FP8_MX_V1"},
    {"26.02", "qwen3-30b-a3b", "h100-sxm", ANY, 0, NONE, "", true, false, "", DEEP, "v0.3.0 QWEN3_30B_A3B_PRETRAIN_CONFIG_H100_FP8_CS_V1"},
    {"26.02", "qwen3-30b-a3b", "b300", ANY, 0, PARTS, ROUTER, false, false, "", HYBRID, "v0.3.0 QWEN3_30B_A3B_PRETRAIN_CONFIG_B300_FP8_MX_V1"},
    {"26.02", "qwen3-30b-a3b", "gb200", FP8_MX, 0, PARTS, ROUTER, false, false, "", HYBRID, "v0.3.0 QWEN3_30B_A3B_PRETRAIN_CONFIG_GB200_FP8_MX_V1"},
    // 26.02.01
    {"26.02.01", "gpt-oss-120b", "b200", ANY, 0, NONE, "", false, false, "layernorm,moe_act", NCCL, "v0.3.1 GPT_OSS_120B_PRETRAIN_CONFIG_B200_BF16_V2"},
    {"26.02.01", "gpt-oss-120b", "b300", ANY, 0, PARTS, ATTN_ROUTER, false, false, "", NCCL, "v0.3.1 GPT_OSS_120B_PRETRAIN_CONFIG_B300_BF16_V2"},
    {"26.02.01", "gpt-oss-120b", "gb200", ANY, 0, NONE, "", false, false, "layernorm,moe_act", NCCL, "v0.3.1 GPT_OSS_120B_PRETRAIN_CONFIG_GB200_BF16_V2"},
    {"26.02.01", "qwen3-30b-a3b", "b200", FP8_MX, 0, PARTS, ATTN_ROUTER, false, false, "", HYBRID, "v0.3.1 QWEN3_30B_A3B_PRETRAIN_CONFIG_B200_FP8_MX_V1"},
    {"26.02.01", "qwen3-30b-a3b", "h100-sxm", ANY, 0, NONE, "", false, false, "", HYBRID, "v0.3.1 QWEN3_30B_A3B_PRETRAIN_CONFIG_H100_FP8_CS_V1"},
    // 26.04
    {"26.04", "deepseek-v3", "b200", ANY, 0, NONE, "", false, false, "mla_up_proj", HYBRID, "v0.4.0 DEEPSEEK_V3_PRETRAIN_CONFIG_B200_FP8_MX_V2"},
    {"26.04", "deepseek-v3", "b300", ANY, 0, NONE, "", false, false, "mla_up_proj", HYBRID, "v0.4.0 DEEPSEEK_V3_PRETRAIN_CONFIG_B300_FP8_MX_V2"},
    {"26.04", "deepseek-v3", "gb200", ANY, 0, PARTS, ATTN_ROUTER, false, false, "mlp", HYBRID, "v0.4.0 DEEPSEEK_V3_PRETRAIN_CONFIG_GB200_FP8_MX_V2"},
    {"26.04", "deepseek-v3", "gb300", ANY, 0, NONE, "", false, false, "mla_up_proj", HYBRID, "v0.4.0 DEEPSEEK_V3_PRETRAIN_CONFIG_GB300_FP8_MX_V2"},
    {"26.04", "gpt-oss-120b", "b200", ANY, 0, NONE, "", false, false, "layernorm,moe_act", HYBRID, "v0.4.0 GPT_OSS_120B_PRETRAIN_CONFIG_B200_BF16_V2"},
    {"26.04", "gpt-oss-120b", "b300", ANY, 0, PARTS, ATTN_ROUTER, false, false, "", HYBRID, "v0.4.0 GPT_OSS_120B_PRETRAIN_CONFIG_B300_BF16_V2"},
    {"26.04", "gpt-oss-120b", "gb200", ANY, 0, NONE, "", true, false, "layernorm,moe_act", HYBRID, "v0.4.0 GPT_OSS_120B_PRETRAIN_CONFIG_GB200_BF16_V2"},
    {"26.04", "gpt-oss-120b", "gb300", ANY, 0, PARTS, ATTN_ROUTER, false, false, "", NCCL, "v0.4.0 GPT_OSS_120B_PRETRAIN_CONFIG_GB300_BF16_V2"},
    {"26.04", "gpt-oss-120b", "h100-sxm", ANY, 0, NONE, "", false, false, "layernorm,moe_act", NCCL, "v0.4.0 GPT_OSS_120B_PRETRAIN_CONFIG_H100_BF16_V2"},
    {"26.04", "qwen3-30b-a3b", "b200", ANY, 0, PARTS, ATTN_ROUTER, false, false, "", HYBRID, "v0.4.0 QWEN3_30B_A3B_PRETRAIN_CONFIG_B200_FP8_MX_V1"},
    {"26.04", "qwen3-30b-a3b", "h100-sxm", ANY, 0, NONE, "", false, false, "", HYBRID, "v0.4.0 QWEN3_30B_A3B_PRETRAIN_CONFIG_H100_FP8_CS_V1"},
    {"26.04", "qwen3-30b-a3b", "", ANY, 0, PARTS, ROUTER, false, false, "", HYBRID, "v0.4.0 QWEN3_30B_A3B_PRETRAIN_CONFIG_{B300,GB200,GB300}_FP8_MX_V1"},
    {"26.04", "qwen3-235b-a22b", "b300", ANY, 0, NONE, "", false, false, "", NCCL, "v0.4.0 QWEN3_235B_A22B_PRETRAIN_CONFIG_B300_FP8_MX_V2"},
    {"26.04", "qwen3-235b-a22b", "h100-sxm", ANY, 0, NONE, "", true, false, "", NCCL, "v0.4.0 QWEN3_235B_A22B_PRETRAIN_CONFIG_H100_FP8_CS_V2"},
    {"26.04", "qwen3-235b-a22b", "", ANY, 0, PARTS, ATTN_ROUTER, false, false, "", HYBRID, "v0.4.0 QWEN3_235B_A22B_PRETRAIN_CONFIG_{GB200,GB300}_FP8_MX_V2"},
    // 26.04.01: v0.4.0's recipes but for these
    {"26.04.01", "deepseek-v3", "b200", ANY, 0, PARTS, ATTN_ROUTER, true, false, "mla_up_proj,mlp", DEEP, "v0.4.2 DEEPSEEK_V3_PRETRAIN_CONFIG_B200_FP8_MX_V2"},
    {"26.04.01", "deepseek-v3", "b300", ANY, 0, PARTS, ATTN_ROUTER, false, false, "mla_up_proj", HYBRID, "v0.4.2 DEEPSEEK_V3_PRETRAIN_CONFIG_B300_FP8_MX_V2"},
    {"26.04.01", "gpt-oss-120b", "b200", ANY, 0, NONE, "", false, false, "layernorm,moe_act", NCCL, "v0.4.2 GPT_OSS_120B_PRETRAIN_CONFIG_B200_BF16_V2"},
    {"26.04.01", "gpt-oss-120b", "gb200", ANY, 0, NONE, "", true, false, "layernorm,moe_act", NCCL, "v0.4.2 GPT_OSS_120B_PRETRAIN_CONFIG_GB200_BF16_V2"},
    {"26.04.01", "qwen3-235b-a22b", "b200", ANY, 0, NONE, "", false, false, "", NCCL, "v0.4.2 QWEN3_235B_A22B_PRETRAIN_CONFIG_B200_FP8_MX_V2"},
    {"26.04.01", "qwen3-235b-a22b", "b300", ANY, 0, NONE, "", false, false, "", HYBRID, "v0.4.2 QWEN3_235B_A22B_PRETRAIN_CONFIG_B300_FP8_MX_V2"},
    // 26.06
    {"26.06", "deepseek-v3", "b300", ANY, 0, PARTS, ATTN_ROUTER, false, false, "mla_up_proj", HYBRID, "v0.5.0 DEEPSEEK_V3_PRETRAIN_CONFIG_B300_FP8_MX_V2"},
    {"26.06", "deepseek-v3", "gb200", ANY, 0, STEP, "", true, true, "mla_up_proj", HYBRID, "v0.5.0 DEEPSEEK_V3_PRETRAIN_CONFIG_GB200_FP8_MX_V2"},
    {"26.06", "deepseek-v3", "gb300", ANY, 0, STEP, "", true, true, "", HYBRID, "v0.5.0 DEEPSEEK_V3_PRETRAIN_CONFIG_GB300_FP8_MX_V2 and _GBS15360", true},
    {"26.06", "gpt-oss-120b", "b300", ANY, 0, PARTS, ATTN_ROUTER, false, false, "", HYBRID, "v0.5.0 GPT_OSS_120B_PRETRAIN_CONFIG_B300_FP8_MX_V2"},
    {"26.06", "gpt-oss-120b", "gb200", ANY, 0, STEP, "", true, true, "", HYBRID, "v0.5.0 GPT_OSS_120B_PRETRAIN_CONFIG_GB200_FP8_MX_V2", true},
    {"26.06", "gpt-oss-120b", "gb300", ANY, 0, STEP, "", true, true, "", HYBRID, "v0.5.0 GPT_OSS_120B_PRETRAIN_CONFIG_GB300_FP8_MX_V2", true},
    {"26.06", "qwen3-235b-a22b", "gb200", ANY, 0, STEP, "", true, true, "", HYBRID, "v0.5.0 QWEN3_235B_A22B_PRETRAIN_CONFIG_GB200_FP8_MX_V2", true},
    {"26.06", "qwen3-235b-a22b", "gb300", ANY, 0, STEP, "", true, true, "", HYBRID, "v0.5.0 QWEN3_235B_A22B_PRETRAIN_CONFIG_GB300_FP8_MX_V2", true},
    {"26.06", "qwen3-30b-a3b", "h100-sxm", ANY, 0, NONE, "", false, false, "", HYBRID, "v0.5.0 QWEN3_30B_A3B_PRETRAIN_CONFIG_H100_FP8_CS_V1"},
    {"26.06", "qwen3-30b-a3b", "", FP8_MX, 0, STEP, "", true, true, "", HYBRID, "v0.5.0 QWEN3_30B_A3B_PRETRAIN_CONFIG_{B300,GB200,GB300}_FP8_MX_V1", true},
};

// Megatron-Core's MoE all-to-all kernels' SMs. NCCL runs point-to-point transfers on
// p2pnChannels blocks, min(channels, 32) rounded up to a power of two (src/graph/paths.cc,
// ncclTopoComputeP2pChannels); NCCL's logs on 8-GPU H100 and B200 nodes read "32 p2p channels".
// HybridEP: 32 in Megatron-Bridge's performance runs (utils/overrides.py). DeepEP: Megatron-Core's
// default moe_deepep_num_sms, 20 (megatron/core/transformer/transformer_config.py).
constexpr int NCCL_P2P_CHANNELS = 32, HYBRID_EP_SMS = 32, DEEP_EP_SMS = 20;

std::vector<std::string> split(const char* text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

// A point release that changed only some recipes: those it lists in ROWS, the rest as in the
// release it follows.
constexpr std::pair<const char*, const char*> FOLLOWS[] = {{"26.04.01", "26.04"}};

std::string release_of(const std::string& framework) {
  static const std::regex pattern(R"(NeMo (\d\d\.\d\d(\.\d\d)?))");
  std::smatch m;
  return std::regex_search(framework, m, pattern) ? m[1].str() : "";
}

// BridgeRecipe::shared_expert_overlap: the DeepSeek-V3 recipe's default, which a flex
// dispatcher or the all-to-all overlap turns off.
bool overlaps_shared_experts(const std::string& model, Dispatcher dispatcher, bool a2a_overlap) {
  return model == "deepseek-v3" && dispatcher == NCCL && !a2a_overlap;
}

}  // namespace

int BridgeRecipe::dispatcher_sms() const {
  if (stated_sms > 0) return stated_sms;
  switch (dispatcher) {
    case Dispatcher::HYBRID_EP: return HYBRID_EP_SMS;
    case Dispatcher::DEEP_EP: return DEEP_EP_SMS;
    case Dispatcher::NCCL_ALL_TO_ALL: break;
  }
  return NCCL_P2P_CHANNELS;
}

BridgeRecipe stated_recipe(const PointParams& recipe, const std::string& model) {
  static const std::set<std::string> known = {"graphs",          "cuda_graph_scope", "a2a_overlap",
                                              "dispatcher",      "dispatcher_sms",   "recompute_modules",
                                              "fp8_attention",   "source"};
  for (const std::string& key : recipe.keys())
    if (!known.count(key))
      throw InputError(recipe.where() + "/" + key + ": unknown key; expected one of graphs, cuda_graph_scope, a2a_overlap, "
                       "dispatcher, dispatcher_sms, recompute_modules, fp8_attention, source");
  const auto one_of = [&](const std::string& key, const std::string& fallback, const std::vector<std::string>& allowed) {
    const std::string v = recipe.has(key) ? recipe.text(key) : fallback;
    if (std::find(allowed.begin(), allowed.end(), v) == allowed.end())
      throw InputError(recipe.where() + "/" + key + ": \"" + v + "\"; expected one of " + joined(allowed));
    return v;
  };
  BridgeRecipe out;
  out.config = recipe.has("source") ? recipe.text("source") : "the row's own settings";
  const std::string graphs = one_of("graphs", "none", {"none", "parts", "step"});
  out.graphs = graphs == "step" ? Graphs::STEP : graphs == "parts" ? Graphs::PARTS : Graphs::NONE;
  out.graph_scopes = recipe.texts("cuda_graph_scope");
  if ((out.graphs == Graphs::PARTS) == out.graph_scopes.empty())
    throw InputError(recipe.where() + "/cuda_graph_scope: the captured parts, with graphs \"parts\" and only then");
  out.a2a_overlap = recipe.flag("a2a_overlap", false);
  const std::string dispatcher = one_of("dispatcher", "alltoall", {"alltoall", "hybridep", "deepep"});
  out.dispatcher = dispatcher == "hybridep" ? HYBRID : dispatcher == "deepep" ? DEEP : NCCL;
  if (recipe.has("dispatcher_sms")) out.stated_sms = recipe.whole("dispatcher_sms", 1, 1024);
  out.recompute_modules = recipe.texts("recompute_modules");
  out.fp8_attention = recipe.flag("fp8_attention", false);
  out.shared_expert_overlap = overlaps_shared_experts(model, out.dispatcher, out.a2a_overlap);
  return out;
}

std::optional<BridgeRecipe> megatron_bridge_recipe(const std::string& framework, const std::string& model,
                                                   const std::string& gpu, const std::string& precision,
                                                   int global_batch) {
  std::string release = release_of(framework);
  const Precision p = precision_of(precision);
  while (!release.empty()) {
    for (const Row& r : ROWS) {
      if (release != r.release || model != r.model || (*r.gpu && gpu != r.gpu)) continue;
      if ((r.precision != ANY && r.precision != p) || (r.global_batch && r.global_batch != global_batch)) continue;
      BridgeRecipe out;
      out.config = r.config;
      out.graphs = r.graphs;
      out.graph_scopes = split(r.scopes);
      out.a2a_overlap = r.a2a_overlap;
      out.fused_expert_mlp = r.fused_mlp;
      out.fp8_attention = r.fp8_attention;
      out.recompute_modules = split(r.recompute);
      out.dispatcher = r.dispatcher;
      out.shared_expert_overlap = overlaps_shared_experts(model, r.dispatcher, r.a2a_overlap);
      return out;
    }
    const auto* follows = std::find_if(std::begin(FOLLOWS), std::end(FOLLOWS),
                                       [&](const auto& f) { return release == f.first; });
    release = follows == std::end(FOLLOWS) ? "" : follows->second;
  }
  return std::nullopt;
}

}  // namespace moesim::validation
