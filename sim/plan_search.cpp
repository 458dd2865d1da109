#include "sim/plan_search.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <tuple>

#include "hardware/topology.hpp"
#include "sim/estimator.hpp"
#include "sim/limits.hpp"
#include "sim/simulate.hpp"
#include "sim/traffic.hpp"

namespace moesim {

namespace {

// Numbers in a reason become '#', so plans rejected for the same reason count together.
std::string reason_class(const std::string& sentence) {
  std::string out;
  for (char c : sentence) {
    if (std::isdigit(static_cast<unsigned char>(c))) {
      if (out.empty() || out.back() != '#') out += '#';
    } else {
      out += c;
    }
  }
  return out;
}

std::vector<int> divisors(int n, int at_most) {
  std::vector<int> out;
  for (int d = 1; d <= std::min(n, at_most); ++d)
    if (n % d == 0) out.push_back(d);
  return out;
}

const char* largest_memory_term(const MemoryBreakdown& m) {
  const std::pair<const char*, double> terms[] = {{"weights", m.weights_bytes},
                                                  {"gradients", m.gradients_bytes},
                                                  {"optimizer state", m.optimizer_bytes},
                                                  {"activations", m.activations_bytes},
                                                  {"all-to-all buffers", m.a2a_buffer_bytes}};
  return std::max_element(std::begin(terms), std::end(terms), [](auto& a, auto& b) { return a.second < b.second; })->first;
}

// Model chunks per stage to try: 1, and with pp > 1 every vp that cuts the layers into
// equal virtual stages (as Megatron requires without a custom layout).
std::vector<int> interleavings(int pp, int layers) {
  std::vector<int> out{1};
  for (int vp = 2; pp > 1 && pp * vp <= layers; ++vp)
    if (layers % (pp * vp) == 0) out.push_back(vp);
  return out;
}

// With MTP modules on the last stage, the layers and the modules split as evenly as whole
// layers allow, the modules taking the last stage's places (empty: the even split, or no room).
std::vector<int> mtp_balanced_layout(const ModelSpec& m, const ParallelPlan& p) {
  const int stages = p.virtual_stages();
  if (m.mtp_layers == 0 || stages == 1) return {};
  std::vector<int> layout(static_cast<size_t>(stages));
  const int slots = m.layers + m.mtp_layers;
  for (int j = 0; j < stages; ++j) layout[size_t(j)] = (j + 1) * slots / stages - j * slots / stages;
  layout.back() -= m.mtp_layers;
  return layout.back() >= 0 ? layout : std::vector<int>{};
}

// A plan of the given degrees over the whole cluster that runs as the scenario's does (its
// sequence length, micro-batch size, optimizer, gradient dtype, overlaps, recomputation and
// CUDA graphs): the scenario's plan with the degrees replaced, sequence parallelism on (as
// Megatron-Core requires with TP) and a layout for these stages.
ParallelPlan plan_of(const Scenario& s, int tp, int cp, int pp, int vp, int ep, int etp) {
  ParallelPlan p = s.plan;
  p.tp = tp, p.cp = cp, p.pp = pp, p.vp = vp, p.ep = ep, p.etp = etp;
  p.dp = s.cluster.gpus() / (tp * cp * pp);
  p.sequence_parallel = true;
  p.pipeline_layout = mtp_balanced_layout(s.model, p);
  // where Megatron can run it: a plan it cannot run it in is still a plan
  if (ep_overlap_problem(p)) p.overlap_ep_comm = false;
  return p;
}

// The plans to try: every factorisation of the cluster with the scenario's global batch.
std::vector<ParallelPlan> enumerate(const Scenario& s, int max_cp, std::map<std::string, int>& rejected) {
  const int gpus = s.cluster.gpus();
  const long global_sequences = long(s.plan.dp) * s.plan.micro_batch_size * s.plan.micro_batches;
  std::vector<ParallelPlan> plans;
  const auto consider = [&](ParallelPlan p) {
    if (global_sequences % p.dp != 0) {
      ++rejected[reason_class("the global batch of " + std::to_string(global_sequences) +
                              " sequences does not split over dp=" + std::to_string(p.dp))];
      return;
    }
    // The scenario's micro-batch size where it divides a DP rank's sequences (it sets how
    // long each kernel runs, against the host's launches), else one sequence.
    const long rank_sequences = global_sequences / p.dp;
    if (rank_sequences % p.micro_batch_size != 0) p.micro_batch_size = 1;
    p.micro_batches = int(rank_sequences / p.micro_batch_size);
    if (PlanProblem problem = plan_problem(p, s.model, s.cluster)) {
      ++rejected[reason_class(problem.sentence)];
      return;
    }
    plans.push_back(p);
  };
  const bool dense = s.model.moe_layers() == 0;  // no experts to split: EP and ETP stay 1
  for (int tp : divisors(gpus, s.cluster.gpus_per_node))
    for (int cp : divisors(gpus / tp, max_cp))
      for (int pp : divisors(gpus / (tp * cp), s.model.layers))
        for (int vp : interleavings(pp, s.model.layers))
          for (int ep : dense ? std::vector<int>{1} : divisors(s.model.experts, gpus))
            for (int etp : tp == 1 || dense ? std::vector<int>{1} : std::vector<int>{1, tp})  // experts unsplit, or as TP
              consider(plan_of(s, tp, cp, pp, vp, ep, etp));
  return plans;
}

}  // namespace

int default_max_cp(int seq_len) {
  int cp = 1;
  while (seq_len / (2 * cp) >= MIN_TOKENS_PER_CP_RANK) cp *= 2;
  return cp;
}

std::string plan_label(const ParallelPlan& p) {
  return "DP" + std::to_string(p.dp) + " TP" + std::to_string(p.tp) + (p.cp > 1 ? " CP" + std::to_string(p.cp) : "") +
         " PP" + std::to_string(p.pp) +
         (p.vp > 1 ? " VP" + std::to_string(p.vp) : "") + " EP" +
         std::to_string(p.ep) + (p.etp > 1 ? " ETP" + std::to_string(p.etp) : "") +
         (p.micro_batch_size > 1 ? " mbs" + std::to_string(p.micro_batch_size) : "") + " m" + std::to_string(p.micro_batches);
}

PlanSearch search_plans(const Scenario& base, const PlanSearchOptions& options) {
  PlanSearch out;
  // Rank on a sample of the routing: one micro-batch and a few MoE layers per EP layout.
  Scenario s = base;
  s.sim.engine = "analytic";
  s.sim.routed_micro_batches = 1;
  out.routed_layers = std::min(s.sim.routed_layers.value_or(4), s.model.moe_layers());
  s.sim.routed_layers = out.routed_layers;
  out.max_cp = options.max_cp > 0 ? options.max_cp : default_max_cp(s.plan.seq_len);
  const std::vector<ParallelPlan> plans = enumerate(s, out.max_cp, out.rejected);
  out.enumerated = int(plans.size());
  for (const auto& [reason, n] : out.rejected) out.enumerated += n;
  const Topology topology(s.cluster);
  // One routing per EP layout and tokens per GPU, and an estimator that keeps its layers'
  // times for the plans that share their shapes.
  struct Routing {
    std::unique_ptr<const RoutedStep> routed;
    std::unique_ptr<PlanEstimator> estimator;
  };
  std::map<std::tuple<int, int, int>, Routing> routings;
  for (size_t i = 0; i < plans.size(); ++i) {
    if (options.progress) options.progress(double(i), double(plans.size()), plan_label(plans[i]));
    Routing& routing = routings[std::make_tuple(plans[i].ep, plans[i].etp, plans[i].tokens_per_gpu())];
    if (!routing.routed) {
      Scenario candidate = s;
      candidate.plan = plans[i];
      routing.routed = std::make_unique<const RoutedStep>(route_step(candidate, topology));
      routing.estimator = std::make_unique<PlanEstimator>(s, *routing.routed);
      ++out.routings;
    }
    StepResult r = routing.estimator->estimate(plans[i]);
    if (!r.fits_memory) {
      ++out.rejected[std::string("does not fit in HBM (largest term: ") + largest_memory_term(r.memory) + ")"];
      continue;
    }
    out.ranked.push_back({plans[i], std::move(r), std::nullopt});
  }
  std::stable_sort(out.ranked.begin(), out.ranked.end(),
                   [](const auto& a, const auto& b) { return a.analytic.step_time_s < b.analytic.step_time_s; });
  double budget_s = options.refine_budget_s;
  for (int i = 0; i < std::min<int>(options.refine, int(out.ranked.size())); ++i) {
    Scenario candidate = s;
    candidate.plan = out.ranked[i].plan;
    candidate.sim.engine = "des";
    const double estimate_s = estimate_run(candidate).wall_s;
    if (estimate_s > budget_s) {
      out.refine_skipped.emplace_back(size_t(i), estimate_s);
      continue;
    }
    budget_s -= estimate_s;
    if (options.progress) options.progress(double(i), double(options.refine), "des " + plan_label(out.ranked[i].plan));
    out.ranked[i].des = simulate(candidate);
  }
  return out;
}

std::string why_it_ranks(const PlanSearch& search, size_t i) {
  if (search.ranked.size() < 2) return "the only plan that runs and fits";
  const StepResult& mine = search.ranked[i].analytic;
  const StepResult& other = search.ranked[i == 0 ? 1 : 0].analytic;
  // The part that moves most in the direction of the gap: what a faster plan saves most on,
  // what a slower one loses most on.
  const double gap = mine.step_time_s - other.step_time_s;
  std::string part;
  double most = 0;
  for (size_t k = 0; k < mine.breakdown_s.size() && k < other.breakdown_s.size(); ++k) {
    const double d = mine.breakdown_s[k].second - other.breakdown_s[k].second;
    if (d * gap > most * gap || part.empty()) most = d, part = mine.breakdown_s[k].first;
  }
  const double gap_ms = 1e3 * gap;
  char buf[200];
  std::snprintf(buf, sizeof buf, "%s #%zu by %.1f ms, mostly %s (%+.1f ms)", i == 0 ? "ahead of" : "behind",
                i == 0 ? size_t(2) : size_t(1), std::abs(gap_ms), part.c_str(), 1e3 * most);
  return buf;
}

}  // namespace moesim
