#include "validation/calibration/mpi_layer.hpp"

#include <algorithm>
#include <cmath>

namespace moesim::calibration {

MpiLayerPlan plan_mpi_layer(const MpiLayerCase& c) {
  MpiLayerPlan p;
  const ExpertLoadCase& l = c.load;
  p.experts_per_rank = l.experts / c.ranks;
  const int capacity = c.capacity_factor
                           ? int(std::ceil(*c.capacity_factor * double(l.tokens) * l.top_k / l.experts))
                           : l.tokens * l.top_k;
  p.kept.resize(c.ranks);
  p.rows_to.assign(c.ranks, std::vector<double>(c.ranks, 0));
  p.expert_rows.assign(c.ranks, std::vector<int>(p.experts_per_rank, 0));
  for (int r = 0; r < c.ranks; ++r) {
    ExpertLoadCase mine = l;
    mine.source = r;
    std::vector<int32_t> experts = routed_experts(mine);
    std::vector<int> taken(l.experts, 0);
    for (int32_t& e : experts) {  // in token order: later copies are dropped first ("position")
      p.routed += 1;
      if (taken[e] >= capacity) {
        e = -1;
        p.dropped += 1;
        continue;
      }
      ++taken[e];
      const int dest = e / p.experts_per_rank;
      p.rows_to[r][dest] += 1;
      p.expert_rows[dest][e % p.experts_per_rank] += 1;
    }
    p.kept[r] = std::move(experts);
  }
  return p;
}

MpiLayerTimes predict_mpi_layer(const MpiLayerCase& c, const MpiLayerPlan& p, const CostModel& cost) {
  const ExpertLoadCase& l = c.load;
  const double row_bytes = 4.0 * l.d_model;
  MpiLayerTimes t;
  double a2a_bytes = 0;
  for (int r = 0; r < c.ranks; ++r) {
    double kept = 0, sent = 0, received = 0;
    for (int d = 0; d < c.ranks; ++d) {
      kept += p.rows_to[r][d];
      if (d != r) sent += p.rows_to[r][d], received += p.rows_to[d][r];
    }
    t.permute_s = std::max(t.permute_s, cost.memory_kernel_s(2 * kept * row_bytes));
    t.combine_s = std::max(t.combine_s, cost.memory_kernel_s((kept + l.tokens) * row_bytes));
    a2a_bytes = std::max({a2a_bytes, sent * row_bytes, received * row_bytes});
    double experts = 0, rows = 0;
    for (int m : p.expert_rows[r]) {
      if (m == 0) continue;
      rows += m;
      experts += (l.matrices - 1) * cost.gemm_s(m, l.d_ffn, l.d_model) + cost.gemm_s(m, l.d_model, l.d_ffn);
    }
    experts += cost.memory_kernel_s(l.matrices * rows * l.d_ffn * 4.0);  // the activation
    // received rows regrouped by expert before the GEMMs and back to source order after
    experts += 2 * cost.memory_kernel_s(2 * rows * row_bytes);
    t.experts_s = std::max(t.experts_s, experts);
  }
  // all-to-all-v: one latency, then the busiest port's bytes (sent or received)
  t.dispatch_s = cost.transfer_s(a2a_bytes, LinkScope::INTRA_NODE);
  t.combine_a2a_s = t.dispatch_s;
  return t;
}

}  // namespace moesim::calibration
