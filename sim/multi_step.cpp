#include "sim/multi_step.hpp"

#include <algorithm>
#include <cmath>

#include "hardware/topology.hpp"
#include "sim/estimator.hpp"
#include "sim/traffic.hpp"

namespace moesim {

double percentile(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  const size_t rank = size_t(std::ceil(q * values.size()));
  return values[std::clamp<size_t>(rank, 1, values.size()) - 1];
}

StepSeriesSummary run_steps(const Scenario& s, const std::string& name, const std::function<void(int, int)>& progress) {
  const Topology topology(s.cluster);
  StepRouter router(s, topology);
  StepSeriesSummary out;
  out.name = name;
  double requested = 0, dropped = 0, tokens = 0, unrouted = 0;
  const int steps = s.sim.steps;
  for (int step = 0; step < steps; ++step) {
    if (progress) progress(step, steps);
    const RoutedStep routed = router.route(step);
    const StepResult r = estimate_step(s, topology, routed);
    // A re-planned placement moves experts before the step: the busiest receiving rank's
    // bytes over its NIC (moves may cross nodes).
    const double migration_s = routed.migration_bytes_max / s.cluster.nic_payload_Bps();
    out.migration_s += migration_s;
    out.step_time_s.push_back(r.step_time_s + migration_s);
    out.expert_max_over_mean += r.expert_max_over_mean / steps;
    out.rank_max_over_mean += r.rank_max_over_mean / steps;
    out.a2a_bytes_intra += r.a2a_intra_node_bytes / steps;
    out.a2a_bytes_inter += r.a2a_inter_node_bytes / steps;
    for (const LayerLoad& layer : routed.layers)
      for (const MicroBatchLoad& mb : layer.micro_batches) {
        requested += mb.requested;
        dropped += mb.dropped;
        unrouted += mb.unrouted_tokens;
        tokens += double(routed.group.size()) * routed.tokens_per_gpu;
      }
  }
  out.drop_rate = requested > 0 ? dropped / requested : 0;
  out.unrouted_rate = tokens > 0 ? unrouted / tokens : 0;
  out.step_time_p50_s = percentile(out.step_time_s, 0.5);
  out.step_time_p99_s = percentile(out.step_time_s, 0.99);
  return out;
}

}  // namespace moesim
