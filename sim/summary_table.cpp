#include "sim/summary_table.hpp"

#include <cstdio>
#include <string>
#include <vector>

namespace moesim {

namespace {
std::string format(const char* fmt, double a, double b = 0) {
  char buf[128];
  std::snprintf(buf, sizeof buf, fmt, a, b);
  return buf;
}
void print_straggler_and_links(std::ostream& out, const StepResult& r) {
  const LayerStraggler* worst = nullptr;
  for (const LayerStraggler& l : r.stragglers)
    if (!worst || l.max_wait_s > worst->max_wait_s) worst = &l;
  if (worst)
    out << "worst straggler   GPU " << worst->gpu << " in layer " << worst->layer
        << format(", %.3f ms behind its group's mean arrival at the combine", worst->max_wait_s * 1e3) << "\n";
  const LinkUsage* busiest = nullptr;
  for (const LinkUsage& l : r.links)
    if (!busiest || l.mean_utilization > busiest->mean_utilization) busiest = &l;
  if (busiest)
    out << "busiest link      " << busiest->name
        << format(": mean %.1f %%, peak %.1f %% of its bandwidth", 100 * busiest->mean_utilization, 100 * busiest->peak_utilization)
        << "\n";
}

// A step that waits for the host's launches a tenth of its time or more says so, and what helps.
void print_host_bound(std::ostream& out, const StepResult& r) {
  for (const auto& [name, seconds] : r.breakdown_s) {
    if (name != "host_wait" || r.step_time_s <= 0 || seconds < 0.1 * r.step_time_s) continue;
    out << "host-bound        " << format("%.1f %% of the step waits for the host's kernel launches", 100 * seconds / r.step_time_s)
        << " (cluster.host_us_per_kernel); a larger micro-batch, or CUDA graphs (plan.cuda_graph_scope; a whole "
           "captured step: host_us_per_kernel 0), shorten it\n";
  }
}

// ", recompute full" or ", recompute selective (layernorm, moe_act)", and ", graphs (attn)";
// nothing without.
std::string recompute_and_graphs_text(const ParallelPlan& p) {
  const std::string graphs = p.cuda_graph_scope.empty() ? "" : ", graphs (" + joined(p.cuda_graph_scope) + ")";
  if (p.recompute == "none") return graphs;
  std::string text = ", recompute " + p.recompute;
  if (p.recompute == "full" && p.recompute_layers > 0) text += " (the first " + std::to_string(p.recompute_layers) + " layers per chunk)";
  if (p.recompute == "selective")
    text += " (" + (p.recompute_modules.empty() ? std::string("nothing") : joined(p.recompute_modules)) + ")";
  return text + graphs;
}
}  // namespace

void print_summary(std::ostream& out, const StepResult& r, const Scenario& s) {
  const ParallelPlan& p = s.plan;
  out << "scenario  " << (s.name.empty() ? s.source : s.name) << "\n"
      << "cluster   " << s.cluster.name << ": " << s.cluster.nodes << " x " << s.cluster.gpus_per_node << " "
      << s.cluster.gpu.name << " (" << s.cluster.gpus() << " GPUs)\n"
      << "model     " << s.model.name << ": " << s.model.shape_summary() << "\n"
      << "plan      dp=" << p.dp << " tp=" << p.tp << (p.cp > 1 ? " cp=" + std::to_string(p.cp) : "") << " pp=" << p.pp
      << (p.vp > 1 ? " vp=" + std::to_string(p.vp) : "") << " ep=" << p.ep << " etp=" << p.etp << (p.fsdp ? " fsdp" : "")
      << "  micro-batch " << p.micro_batch_size << " x " << p.micro_batches << ", seq " << p.seq_len
      << recompute_and_graphs_text(p) << "\n"
      << "router    " << s.router.name << ", scores " << s.scores.name << ", placement " << s.placement.name << "\n\n";
  out << "step time " << format("%10.3f ms", r.step_time_s * 1e3) << "   (" << r.engine << "; breakdown of GPU "
      << r.critical_gpu << ", which finished last)\n";
  for (const auto& [name, seconds] : r.breakdown_s) {
    out << "  " << name << std::string(18 - std::min<size_t>(17, name.size()), ' ')
        << format("%10.3f ms  %5.1f %%", seconds * 1e3, r.step_time_s > 0 ? 100 * seconds / r.step_time_s : 0) << "\n";
  }
  out << "\n"
      << "tokens/s          " << format("%.4g", r.tokens_per_s) << "\n"
      << "MFU               " << format("%.1f %%", 100 * r.mfu) << "\n";
  if (s.model.moe_layers() > 0) {  // a dense model routes nothing
    out << "dropped           " << format("%.2f %% of assignments", 100 * r.drop_rate) << "\n"
        << "expert max/mean   " << format("%.2f (worst layer %.2f)", r.expert_max_over_mean, r.expert_worst_max_over_mean)
        << "\n"
        << "GPU max/mean      " << format("%.2f", r.rank_max_over_mean) << "\n"
        << "a2a bytes/step    " << format("%.3g intra-node, %.3g inter-node", r.a2a_intra_node_bytes, r.a2a_inter_node_bytes)
        << "\n";
  }
  out << "memory per GPU    "
      << format("%.1f of %.1f GiB", r.memory.total_bytes() / (1 << 30), r.hbm_bytes / (1 << 30))
      << (r.fits_memory ? "  (fits)" : "  (DOES NOT FIT)") << "\n";
  print_host_bound(out, r);
  print_straggler_and_links(out, r);
}

}  // namespace moesim
