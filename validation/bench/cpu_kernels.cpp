// CPU backend: fp32 kernels through OpenBLAS and plain C++ on this machine's cores.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <numeric>
#include <vector>

#include <cblas.h>

#include "models/random.hpp"
#include "validation/bench/backends.hpp"

namespace moesim::bench {

namespace {

using calibration::KernelKind;

std::vector<float> random_matrix(size_t elements, uint64_t seed) {
  Rng rng({seed, 77});
  std::vector<float> v(elements);
  for (float& x : v) x = float(rng.uniform() * 2 - 1);
  return v;
}

// Row-major C[m x n] = A[m x k] B[k x n].
void sgemm(int m, int n, int k, const float* a, const float* b, float* c) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
}

void gemm_case(benchmark::State& state, const KernelCase& c) {
  const int m = int(c.m), n = int(c.n), k = int(c.k);
  const auto a = random_matrix(size_t(m) * k, 1), b = random_matrix(size_t(k) * n, 2);
  std::vector<float> out(size_t(m) * n);
  sgemm(m, n, k, a.data(), b.data(), out.data());  // untimed: first-touch of the output, BLAS thread start
  for (auto _ : state) {
    sgemm(m, n, k, a.data(), b.data(), out.data());
    benchmark::DoNotOptimize(out.data());
  }
}

void copy_case(benchmark::State& state, const KernelCase& c) {
  std::vector<char> from(size_t(c.bytes), 1), to(size_t(c.bytes), 0);
  for (auto _ : state) {
    std::memcpy(to.data(), from.data(), from.size());
    benchmark::ClobberMemory();
  }
}

// out[i] = in[index[i]]: tokens into expert order.
void gather_rows(const float* in, const int* index, int rows, int width, float* out) {
  for (int i = 0; i < rows; ++i) std::memcpy(out + size_t(i) * width, in + size_t(index[i]) * width, width * sizeof(float));
}

void permute_case(benchmark::State& state, const KernelCase& c) {
  const int rows = int(c.rows), width = int(c.width);
  const auto in = random_matrix(size_t(rows) * width, 3);
  std::vector<float> out(in.size());
  std::vector<int> index(rows);
  std::iota(index.begin(), index.end(), 0);
  Rng rng({4});
  for (int i = rows - 1; i > 0; --i) std::swap(index[i], index[int(rng.uniform() * (i + 1)) % (i + 1)]);
  for (auto _ : state) {
    gather_rows(in.data(), index.data(), rows, width, out.data());
    benchmark::DoNotOptimize(out.data());
  }
}

void gate_case(benchmark::State& state, const KernelCase& c) {
  const auto& l = c.load;
  const auto x = random_matrix(size_t(l.tokens) * l.d_model, 5), w = random_matrix(size_t(l.d_model) * l.experts, 6);
  std::vector<float> logits(size_t(l.tokens) * l.experts);
  std::vector<int> chosen(size_t(l.tokens) * l.top_k), order(l.experts);
  for (auto _ : state) {
    sgemm(l.tokens, l.experts, l.d_model, x.data(), w.data(), logits.data());
    for (int t = 0; t < l.tokens; ++t) {
      const float* row = logits.data() + size_t(t) * l.experts;
      std::iota(order.begin(), order.end(), 0);
      std::partial_sort(order.begin(), order.begin() + l.top_k, order.end(), [&](int a, int b) { return row[a] > row[b]; });
      std::copy_n(order.begin(), l.top_k, chosen.begin() + size_t(t) * l.top_k);
    }
    benchmark::DoNotOptimize(chosen.data());
  }
}

// A whole expert FFN layer: permute tokens into expert order (moesim's routing), SwiGLU or
// MLP GEMMs per expert, unpermute with the router weights summed per token.
void expert_layer_case(benchmark::State& state, const KernelCase& c) {
  const auto& l = c.load;
  const calibration::ExpertOrder order = calibration::expert_order(l);
  const int routed = int(order.token_of_row.size());
  const size_t up = size_t(l.d_model) * l.d_ffn;
  const auto x = random_matrix(size_t(l.tokens) * l.d_model, 7);
  const auto w_in = random_matrix(up * l.experts * (l.matrices - 1), 8), w_out = random_matrix(up * l.experts, 9);
  std::vector<float> xs(size_t(routed) * l.d_model), h(size_t(routed) * l.d_ffn), g(h.size()), ys(xs.size()),
      y(x.size());
  for (auto _ : state) {
    gather_rows(x.data(), order.token_of_row.data(), routed, l.d_model, xs.data());
    for (int e = 0; e < l.experts; ++e) {
      const int r = order.rows(e);
      if (r == 0) continue;
      const size_t o = order.offset[e];
      sgemm(r, l.d_ffn, l.d_model, xs.data() + o * l.d_model, w_in.data() + e * up, h.data() + o * l.d_ffn);
      if (l.matrices == 3)
        sgemm(r, l.d_ffn, l.d_model, xs.data() + o * l.d_model, w_in.data() + (l.experts + e) * up, g.data() + o * l.d_ffn);
      float* hr = h.data() + o * l.d_ffn;
      const float* gr = g.data() + o * l.d_ffn;
      for (size_t i = 0; i < size_t(r) * l.d_ffn; ++i) {
        const float silu = hr[i] / (1 + std::exp(-hr[i]));
        hr[i] = l.matrices == 3 ? silu * gr[i] : silu;
      }
      sgemm(r, l.d_model, l.d_ffn, hr, w_out.data() + e * up, ys.data() + o * l.d_model);
    }
    std::fill(y.begin(), y.end(), 0.0f);
    for (int i = 0; i < routed; ++i) {
      const float weight = 1.0f / l.top_k;
      float* dst = y.data() + size_t(i / l.top_k) * l.d_model;
      const float* src = ys.data() + size_t(order.row_of_copy[i]) * l.d_model;
      for (int j = 0; j < l.d_model; ++j) dst[j] += weight * src[j];
    }
    benchmark::DoNotOptimize(y.data());
  }
}

void run_case(benchmark::State& state, const KernelCase& c) {
  switch (c.kind) {
    case KernelKind::GEMM: gemm_case(state, c); break;
    case KernelKind::COPY: copy_case(state, c); break;
    case KernelKind::PERMUTE: permute_case(state, c); break;
    case KernelKind::GATE: gate_case(state, c); break;
    case KernelKind::EXPERT_LAYER: expert_layer_case(state, c); break;
    case KernelKind::EXPERT_GEMMS: state.SkipWithError("expert_gemms is a CUDA case"); return;
  }
  set_case_counters(state, c);
}

}  // namespace

// Runs the BLAS for a moment before anything is timed: the first calls of a process pay for
// starting OpenBLAS's threads and faulting in pages, which once cost the first quick GEMM 10x
// its time and skewed the fit's launch overhead.
namespace {
void warm_up_blas() {
  const int n = 512;
  const auto a = random_matrix(size_t(n) * n, 3), b = random_matrix(size_t(n) * n, 4);
  std::vector<float> c(size_t(n) * n);
  const auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(200)) sgemm(n, n, n, a.data(), b.data(), c.data());
  benchmark::DoNotOptimize(c.data());
}
}  // namespace

void register_cpu_benchmarks(const std::vector<KernelCase>& cases, double min_time_s) {
  warm_up_blas();
  benchmark::AddCustomContext("moesim_cpu_blas", OPENBLAS_VERSION);
  // GEMMs run on this many cores (OPENBLAS_NUM_THREADS; 1 for a profile of MPI ranks)
  benchmark::AddCustomContext("moesim_cpu_threads", std::to_string(openblas_get_num_threads()));
  for (const KernelCase& c : cases)
    benchmark::RegisterBenchmark(calibration::case_name(c).c_str(), [c](benchmark::State& s) { run_case(s, c); })
        ->UseRealTime()
        ->MinTime(min_time_s);
}

}  // namespace moesim::bench
