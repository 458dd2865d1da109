// CUDA backend: bf16 kernels through cuBLAS and moesim's own permutation kernel, timed with
// CUDA events around each iteration (launch overhead included, as a framework sees it).
#include <cstdio>
#include <string>
#include <vector>

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include "validation/bench/backends.hpp"

namespace moesim::bench {

namespace {

using calibration::KernelKind;

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    std::fprintf(stderr, "moesim-bench: CUDA error in %s: %s\n", what, cudaGetErrorString(e));
    std::exit(4);
  }
}
void check(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) {
    std::fprintf(stderr, "moesim-bench: cuBLAS error %d in %s\n", int(s), what);
    std::exit(4);
  }
}

// Device buffer that frees itself.
template <class T>
class DeviceArray {
 public:
  explicit DeviceArray(size_t n) : n_(n) { check(cudaMalloc(&p_, sizeof(T) * (n ? n : 1)), "cudaMalloc"); }
  ~DeviceArray() { cudaFree(p_); }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  T* get() const { return p_; }
  size_t size() const { return n_; }

 private:
  T* p_ = nullptr;
  size_t n_ = 0;
};

// Uniform values in [-1, 1) from a hash of the index: random data keeps the tensor cores at
// their loaded clock (zeros run faster).
__global__ void fill_random(__nv_bfloat16* p, size_t n, uint32_t seed) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    uint32_t h = uint32_t(i) * 2654435761u ^ seed;
    h ^= h >> 16, h *= 0x7feb352du, h ^= h >> 15, h *= 0x846ca68bu, h ^= h >> 16;
    p[i] = __float2bfloat16(float(h) / 2147483648.0f - 1.0f);
  }
}

void randomize(DeviceArray<__nv_bfloat16>& a, uint32_t seed) {
  fill_random<<<1024, 256>>>(a.get(), a.size(), seed);
  check(cudaGetLastError(), "fill_random");
}

// out[i] = in[index[i]], rows of `width` bf16 values, 16 bytes per thread.
__global__ void gather_rows(const uint4* in, const int* index, int rows, int width_vec, uint4* out) {
  const int row = blockIdx.x;
  if (row >= rows) return;
  const uint4* src = in + size_t(index[row]) * width_vec;
  uint4* dst = out + size_t(row) * width_vec;
  for (int j = threadIdx.x; j < width_vec; j += blockDim.x) dst[j] = src[j];
}

struct Context {
  cublasHandle_t blas = nullptr;
  cudaEvent_t start = nullptr, stop = nullptr;
};
Context& context() {
  static Context c = [] {
    Context c;
    check(cublasCreate(&c.blas), "cublasCreate");
    check(cudaEventCreate(&c.start), "cudaEventCreate");
    check(cudaEventCreate(&c.stop), "cudaEventCreate");
    return c;
  }();
  return c;
}

// Row-major C[m x n] = A[m x k] B[k x n] in bf16 with fp32 accumulation: column-major
// cuBLAS computes C^T = B^T A^T with the same buffers.
void gemm(int m, int n, int k, const __nv_bfloat16* a, const __nv_bfloat16* b, __nv_bfloat16* c) {
  const float one = 1, zero = 0;
  check(cublasGemmEx(context().blas, CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, &one, b, CUDA_R_16BF, n, a, CUDA_R_16BF, k,
                     &zero, c, CUDA_R_16BF, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
        "cublasGemmEx");
}

// Times `body` once per iteration with CUDA events.
template <class Body>
void timed_loop(benchmark::State& state, Body body) {
  Context& ctx = context();
  body();  // warm-up: cuBLAS picks and loads its kernel on the first call
  check(cudaDeviceSynchronize(), "warm-up");
  for (auto _ : state) {
    cudaEventRecord(ctx.start);
    body();
    cudaEventRecord(ctx.stop);
    check(cudaEventSynchronize(ctx.stop), "cudaEventSynchronize");
    float ms = 0;
    cudaEventElapsedTime(&ms, ctx.start, ctx.stop);
    state.SetIterationTime(ms * 1e-3);
  }
  check(cudaGetLastError(), "timed kernels");
}

void gemm_case(benchmark::State& state, const KernelCase& c) {
  const int m = int(c.m), n = int(c.n), k = int(c.k);
  DeviceArray<__nv_bfloat16> a(size_t(m) * k), b(size_t(k) * n), out(size_t(m) * n);
  randomize(a, 1), randomize(b, 2);
  timed_loop(state, [&] { gemm(m, n, k, a.get(), b.get(), out.get()); });
}

void copy_case(benchmark::State& state, const KernelCase& c) {
  DeviceArray<char> from(size_t(c.bytes)), to(size_t(c.bytes));
  check(cudaMemset(from.get(), 1, from.size()), "cudaMemset");
  timed_loop(state, [&] { cudaMemcpyAsync(to.get(), from.get(), from.size(), cudaMemcpyDeviceToDevice); });
}

void permute_case(benchmark::State& state, const KernelCase& c) {
  const int rows = int(c.rows), width = int(c.width);
  DeviceArray<__nv_bfloat16> in(size_t(rows) * width), out(size_t(rows) * width);
  randomize(in, 3);
  std::vector<int> index(rows);
  for (int i = 0; i < rows; ++i) index[i] = int((uint64_t(i) * 2654435761u) % rows);  // scattered reads
  DeviceArray<int> d_index(rows);
  check(cudaMemcpy(d_index.get(), index.data(), sizeof(int) * rows, cudaMemcpyHostToDevice), "index upload");
  const int width_vec = width * int(sizeof(__nv_bfloat16)) / int(sizeof(uint4));
  timed_loop(state, [&] {
    gather_rows<<<rows, 128>>>(reinterpret_cast<const uint4*>(in.get()), d_index.get(), rows, width_vec,
                               reinterpret_cast<uint4*>(out.get()));
  });
}

// Every expert's GEMMs on its rows (moesim's skewed routing), one cuBLAS call each, as a
// sequential grouped GEMM does; every expert has its own weights, as in a real layer.
void expert_gemms_case(benchmark::State& state, const KernelCase& c) {
  const auto& l = c.load;
  const std::vector<int> rows = calibration::expert_rows(l);
  size_t routed = 0;
  for (int r : rows) routed += r;
  const size_t w = size_t(l.d_model) * l.d_ffn;
  DeviceArray<__nv_bfloat16> weights(w * l.experts * l.matrices), x(routed * l.d_model), h(routed * l.d_ffn),
      y(routed * l.d_model);
  randomize(weights, 4), randomize(x, 5);
  timed_loop(state, [&] {
    size_t o = 0;
    for (int e = 0; e < l.experts; ++e) {
      const int r = rows[e];
      if (r == 0) continue;
      const __nv_bfloat16* we = weights.get() + w * l.matrices * e;
      for (int j = 0; j + 1 < l.matrices; ++j)
        gemm(r, l.d_ffn, l.d_model, x.get() + o * l.d_model, we + w * j, h.get() + o * l.d_ffn);
      gemm(r, l.d_model, l.d_ffn, h.get() + o * l.d_ffn, we + w * (l.matrices - 1), y.get() + o * l.d_model);
      o += r;
    }
  });
}

void run_case(benchmark::State& state, const KernelCase& c) {
  switch (c.kind) {
    case KernelKind::GEMM: gemm_case(state, c); break;
    case KernelKind::COPY: copy_case(state, c); break;
    case KernelKind::PERMUTE: permute_case(state, c); break;
    case KernelKind::EXPERT_GEMMS: expert_gemms_case(state, c); break;
    default: state.SkipWithError("not a CUDA case"); return;
  }
  set_case_counters(state, c);
}

}  // namespace

bool register_cuda_benchmarks(const std::vector<KernelCase>& cases, double min_time_s) {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) return false;
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
  int runtime = 0, driver = 0;
  cudaRuntimeGetVersion(&runtime);
  cudaDriverGetVersion(&driver);
  benchmark::AddCustomContext("moesim_cuda_device", prop.name);
  benchmark::AddCustomContext("moesim_cuda_sms", std::to_string(prop.multiProcessorCount));
  benchmark::AddCustomContext("moesim_cuda_runtime", std::to_string(runtime));
  benchmark::AddCustomContext("moesim_cuda_driver", std::to_string(driver));
  for (const KernelCase& c : cases)
    benchmark::RegisterBenchmark(calibration::case_name(c).c_str(), [c](benchmark::State& s) { run_case(s, c); })
        ->UseManualTime()
        ->MinTime(min_time_s);
  return true;
}

}  // namespace moesim::bench
