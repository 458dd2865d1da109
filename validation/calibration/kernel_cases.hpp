#pragma once
#include <map>
#include <string>
#include <vector>

#include "models/cost_model.hpp"

namespace moesim::calibration {

// The kernels moesim-bench times, each paired with the cost-model formula that predicts it.
// The benchmark writes a case's shape into its Google Benchmark entry (case_counters); the
// calibration reads it back (case_from_counters) and predicts the same case (predicted_s),
// so measurement and model can never disagree on what was run.
enum class KernelKind {
  GEMM,          // one GEMM C[m x n] = A[m x k] B[k x n]
  EXPERT_GEMMS,  // every expert's FFN GEMMs on its routed rows, one launch per GEMM
  EXPERT_LAYER,  // permute + EXPERT_GEMMS + unpermute with the router weights
  GATE,          // router logits GEMM [tokens x d_model] x [d_model x experts] and top-k
  PERMUTE,       // gather rows by an index (token order -> expert order)
  COPY,          // device (or host) memory copy
};

// Rows per expert come from moesim's own Dirichlet score source: `alpha` sets the skew
// (large = near uniform), `seed` the draw.
struct ExpertLoadCase {
  int experts = 0;
  int top_k = 0;
  int tokens = 0;
  int d_model = 0;
  int d_ffn = 0;
  int matrices = 3;  // 3: SwiGLU (gate, up, down); 2: plain MLP
  double alpha = 1;
  int seed = 0;
  int source = 0;  // which rank's tokens (same expert popularity, other tokens); not a counter
};

struct KernelCase {
  std::string backend;  // "cpu" or "cuda"
  KernelKind kind = KernelKind::GEMM;
  double m = 0, n = 0, k = 0;       // GEMM
  double bytes = 0;                 // COPY: bytes copied (each read once and written once)
  double rows = 0, width = 0;       // PERMUTE
  ExpertLoadCase load;              // EXPERT_GEMMS, EXPERT_LAYER, GATE
  double element_bytes = 2;         // 2: bf16 (cuda), 4: fp32 (cpu)
};

const std::vector<std::pair<KernelKind, std::string>>& kernel_kind_names();
std::string kernel_kind_name(KernelKind kind);

// "cuda/gemm/m=128/n=2048/k=7168": unique per case, stable across runs.
std::string case_name(const KernelCase& c);
std::map<std::string, double> case_counters(const KernelCase& c);
// Throws InputError naming `where` when a counter the kind needs is missing or out of range.
KernelCase case_from_counters(const std::string& backend, KernelKind kind,
                              const std::map<std::string, double>& counters, const std::string& where);

// Each token's top-k experts ([token * top_k + choice]) and the rows routed to each expert
// (sums to tokens x top_k).
std::vector<int32_t> routed_experts(const ExpertLoadCase& load);
std::vector<int> expert_rows(const ExpertLoadCase& load);

// The permutation of a layer's routed copies into expert order (what a MoE layer's permute
// and unpermute kernels use): expert e's rows are [offset[e], offset[e + 1]); row r holds
// token token_of_row[r]; copy c (= token * top_k + choice) sits in row row_of_copy[c].
struct ExpertOrder {
  std::vector<int> offset, token_of_row, row_of_copy;
  int rows(int expert) const { return offset[expert + 1] - offset[expert]; }
};
ExpertOrder expert_order(const ExpertLoadCase& load);

// The cost model's time for the case.
double predicted_s(const KernelCase& c, const CostModel& cost);
// FLOPs of the case (0 for pure data movement), for achieved-rate columns.
double case_flops(const KernelCase& c);

// The cases moesim-bench runs: `quick` is the CI set (under 2 minutes on 2 cores).
std::vector<KernelCase> benchmark_cases(const std::string& backend, bool quick);

}  // namespace moesim::calibration
