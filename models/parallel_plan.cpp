#include "models/parallel_plan.hpp"

#include <numeric>

namespace moesim {

namespace {
PlanProblem does_not_divide(const std::string& key, const std::string& a, long av, const std::string& b, long bv) {
  return {key, a + "=" + std::to_string(av) + " does not divide " + b + "=" + std::to_string(bv)};
}

// A layout names every virtual stage once and places every layer; a stage may hold none (a
// last stage with only the output layer and the MTP modules, as Megatron's layouts allow).
PlanProblem layout_problem(const ParallelPlan& p, const ModelSpec& m) {
  const auto& layout = p.pipeline_layout;
  if (int(layout.size()) != p.virtual_stages())
    return {"pipeline_layout", "pipeline_layout has " + std::to_string(layout.size()) + " entries but pp*vp=" +
                                   std::to_string(p.virtual_stages()) + " virtual stages need one each"};
  const int placed = std::accumulate(layout.begin(), layout.end(), 0);
  if (placed != m.layers)
    return {"pipeline_layout", "pipeline_layout places " + std::to_string(placed) + " layers but the model has " +
                                   std::to_string(m.layers)};
  return {};
}

// Megatron-Core cuts each sequence into 2 cp chunks and gives rank r chunks r and 2 cp - 1 - r;
// only attention passes keys and values round the ring, so a token-mixing MLP or a
// token-mixing MoE layer, which mixes whole sequences otherwise, cannot be split.
PlanProblem context_parallel_problem(const ParallelPlan& p, const ModelSpec& m) {
  if (p.cp == 1) return {};
  if (p.seq_len % (2 * p.cp) != 0)
    return does_not_divide("cp", "2*cp", 2 * p.cp, "seq_len (Megatron splits each sequence into 2*cp chunks)", p.seq_len);
  if (m.token_mixing_hidden > 0 || m.token_moe_channels > 0)
    return {"cp", "cp=" + std::to_string(p.cp) + ": only attention layers split a sequence over context-parallel ranks; "
                  "this model mixes tokens otherwise: use cp=1"};
  return {};
}

// Megatron-Core reads --recompute-modules only with selective granularity, and recomputes
// mla_up_proj only in multi-latent attention.
PlanProblem recompute_modules_problem(const ParallelPlan& p, const ModelSpec& m) {
  if (p.recompute != "selective" && p.recompute_modules != ParallelPlan{}.recompute_modules)
    return {"recompute_modules", "recompute_modules is read with recompute selective only (recompute is \"" +
                                     p.recompute + "\")"};
  if (p.recomputes_module("mla_up_proj") && m.attention.kind != AttentionKind::MLA)
    return {"recompute_modules", "mla_up_proj recomputes multi-latent attention's up-projections; this model's "
                                 "attention is not MLA"};
  return {};
}
}  // namespace

// Megatron-Core refuses these combinations with --overlap-moe-expert-parallel-comm
// (TransformerConfig's checks): there is no all-to-all to hide without expert parallelism, a
// pipeline needs the interleaved schedule to pair micro-batches, and full recomputation and
// the shared-expert overlap would compete for the same streams.
PlanProblem ep_overlap_problem(const ParallelPlan& p) {
  if (!p.overlap_ep_comm) return {};
  if (p.ep == 1) return {"overlap_ep_comm", "overlap_ep_comm needs ep > 1: without expert parallelism there is no all-to-all"};
  if (p.pp > 1 && p.vp == 1)
    return {"overlap_ep_comm", "overlap_ep_comm with pp > 1 needs the interleaved schedule (vp > 1), as Megatron-Core does"};
  if (p.recompute == "full") return {"overlap_ep_comm", "overlap_ep_comm cannot run with recompute full (Megatron-Core refuses it)"};
  if (p.overlap_shared_experts)
    return {"overlap_ep_comm", "overlap_ep_comm and overlap_shared_experts exclude each other (Megatron-Core refuses both)"};
  return {};
}

PlanProblem plan_problem(const ParallelPlan& p, const ModelSpec& m, const ClusterSpec& c) {
  if (p.world() != c.gpus())
    return {"", "dp*cp*tp*pp=" + std::to_string(p.world()) + " but the cluster has " + std::to_string(c.gpus()) + " GPUs"};
  if (m.moe_layers() == 0 && p.ep_group_gpus() > 1)
    return {p.ep > 1 ? "ep" : "etp", "ep*etp=" + std::to_string(p.ep_group_gpus()) +
                                         " but the model has no MoE layer to split (a dense model): expected ep=1, etp=1"};
  if (m.experts % p.ep != 0) return does_not_divide("ep", "ep", p.ep, "experts", m.experts);
  if (p.gpus_per_stage() % p.ep_group_gpus() != 0)
    return does_not_divide("", "ep*etp", p.ep_group_gpus(), "dp*cp*tp", p.gpus_per_stage());
  if (m.attention.heads % p.tp != 0) return does_not_divide("tp", "tp", p.tp, "attention heads", m.attention.heads);
  if (m.d_ffn_expert % p.etp != 0) return does_not_divide("etp", "etp", p.etp, "expert d_ffn", m.d_ffn_expert);
  if (p.pp > m.layers)
    return {"pp", "pp=" + std::to_string(p.pp) + " exceeds the model's " + std::to_string(m.layers) + " layers"};
  if (p.vp > 1 && p.pp == 1) return {"vp", "vp=" + std::to_string(p.vp) + " needs pp > 1 (interleaving splits pipeline stages)"};
  if (!p.pipeline_layout.empty()) {
    if (PlanProblem problem = layout_problem(p, m)) return problem;
  } else if (p.virtual_stages() > m.layers) {
    return {"vp", "pp*vp=" + std::to_string(p.virtual_stages()) + " exceeds the model's " + std::to_string(m.layers) +
                      " layers"};
  }
  // Megatron's interleaved schedule runs micro-batches in groups of pp.
  if (p.vp > 1 && p.micro_batches % p.pp != 0)
    return does_not_divide("micro_batches", "pp", p.pp, "micro_batches (interleaved schedule)", p.micro_batches);
  if (p.recompute_layers > 0 && p.recompute != "full")
    return {"recompute_layers", "recompute_layers=" + std::to_string(p.recompute_layers) +
                                    " needs recompute full (it says how many layers of each model chunk recompute)"};
  if (PlanProblem problem = recompute_modules_problem(p, m)) return problem;
  if (PlanProblem problem = context_parallel_problem(p, m)) return problem;
  if (long(p.micro_batch_size) * p.seq_len / p.cp % p.tp != 0)
    return does_not_divide("tp", "tp", p.tp, "tokens per micro-batch and CP rank (micro_batch_size*seq_len/cp)",
                           long(p.micro_batch_size) * p.seq_len / p.cp);
  // The token MLP's weights are patches x hidden: an all-MLP model runs at its own patch count.
  if (m.token_mixing_hidden > 0 && p.seq_len != m.default_seq_len)
    return {"seq_len", "seq_len=" + std::to_string(p.seq_len) + " but the all-MLP model mixes exactly " +
                           std::to_string(m.default_seq_len) + " patches"};
  if (!p.sequence_parallel && p.tp > 1)
    return {"sequence_parallel", "sequence_parallel false with tp=" + std::to_string(p.tp) +
                                     ": Megatron-Core requires sequence parallelism for MoE with tensor parallelism"};
  if (m.token_moe_channels > 0 && p.tp > 1)
    return {"tp", "tp=" + std::to_string(p.tp) + ": token-mixing MoE layers route whole samples' channel vectors; use tp=1"};
  if (p.ep_comm_sms > 0 && c.gpu.sms > 0 && p.ep_comm_sms >= c.gpu.sms)
    return {"ep_comm_sms", "ep_comm_sms=" + std::to_string(p.ep_comm_sms) + " leaves no SM of " + c.gpu.name + "'s " +
                               std::to_string(c.gpu.sms) + " to compute"};
  if (PlanProblem problem = ep_overlap_problem(p)) return problem;
  if (m.compute_dtype == Dtype::FP8 && c.gpu.peak_fp8_flops <= 0)
    return {"", "compute_dtype fp8 but GPU " + c.gpu.name + " has no FP8 tensor cores"};
  return {};
}

}  // namespace moesim
