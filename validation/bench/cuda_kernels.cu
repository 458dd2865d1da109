// CUDA backend: bf16 kernels through cuBLAS and moesim's own permutation kernel, timed with
// CUDA events around each iteration (launch overhead included, as a framework sees it).
#include <algorithm>
#include <cmath>
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

// Times `launches` back-to-back calls of body(i) per iteration with CUDA events: the steady
// state of a stream of kernels, as inside a layer, where the CPU enqueues ahead and the
// per-kernel cost is the GPU's, not one launch's round trip. The entry reports the batch
// time and a launches_per_iteration counter; readers divide (bench_reader.cpp).
template <class Body>
void timed_loop(benchmark::State& state, int launches, Body body) {
  Context& ctx = context();
  for (int i = 0; i < launches; ++i) body(i);  // warm-up: cuBLAS picks and loads its kernels
  check(cudaDeviceSynchronize(), "warm-up");
  for (auto _ : state) {
    cudaEventRecord(ctx.start);
    for (int i = 0; i < launches; ++i) body(i);
    cudaEventRecord(ctx.stop);
    check(cudaEventSynchronize(ctx.stop), "cudaEventSynchronize");
    float ms = 0;
    cudaEventElapsedTime(&ms, ctx.start, ctx.stop);
    state.SetIterationTime(ms * 1e-3);
  }
  check(cudaGetLastError(), "timed kernels");
  state.counters["launches_per_iteration"] = launches;
}

// Copies of a kernel's operands, used in turn, so that together they exceed the L2 cache
// several times over: each call reads its operands from HBM, as a layer's distinct experts
// and activations do, instead of finding the previous call's in L2.
int operand_sets(double bytes_per_set) {
  static const double l2_bytes = [] {
    cudaDeviceProp prop{};
    check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
    return double(prop.l2CacheSize);
  }();
  return int(std::min(256.0, std::max(1.0, std::ceil(4 * l2_bytes / bytes_per_set))));
}

// Enough launches per iteration to cycle through every operand set, and at least 16.
int launches_for(int sets) { return std::max(16, sets); }

void gemm_case(benchmark::State& state, const KernelCase& c) {
  const int m = int(c.m), n = int(c.n), k = int(c.k);
  const size_t a_size = size_t(m) * k, b_size = size_t(k) * n, c_size = size_t(m) * n;
  const int sets = operand_sets(2.0 * (a_size + b_size + c_size));
  DeviceArray<__nv_bfloat16> a(a_size * sets), b(b_size * sets), out(c_size * sets);
  randomize(a, 1), randomize(b, 2);
  timed_loop(state, launches_for(sets), [&](int i) {
    const size_t j = i % sets;
    gemm(m, n, k, a.get() + j * a_size, b.get() + j * b_size, out.get() + j * c_size);
  });
}

void copy_case(benchmark::State& state, const KernelCase& c) {
  const size_t bytes = size_t(c.bytes);
  const int sets = operand_sets(2.0 * bytes);
  DeviceArray<char> from(bytes * sets), to(bytes * sets);
  check(cudaMemset(from.get(), 1, from.size()), "cudaMemset");
  timed_loop(state, launches_for(sets), [&](int i) {
    const size_t j = i % sets;
    cudaMemcpyAsync(to.get() + j * bytes, from.get() + j * bytes, bytes, cudaMemcpyDeviceToDevice);
  });
}

void permute_case(benchmark::State& state, const KernelCase& c) {
  const int rows = int(c.rows), width = int(c.width);
  const size_t size = size_t(rows) * width;
  const int sets = operand_sets(2.0 * size * sizeof(__nv_bfloat16));
  DeviceArray<__nv_bfloat16> in(size * sets), out(size * sets);
  randomize(in, 3);
  std::vector<int> index(rows);
  for (int i = 0; i < rows; ++i) index[i] = int((uint64_t(i) * 2654435761u) % rows);  // scattered reads
  DeviceArray<int> d_index(rows);
  check(cudaMemcpy(d_index.get(), index.data(), sizeof(int) * rows, cudaMemcpyHostToDevice), "index upload");
  const int width_vec = width * int(sizeof(__nv_bfloat16)) / int(sizeof(uint4));
  timed_loop(state, launches_for(sets), [&](int i) {
    const size_t j = i % sets;
    gather_rows<<<rows, 128>>>(reinterpret_cast<const uint4*>(in.get() + j * size), d_index.get(), rows, width_vec,
                               reinterpret_cast<uint4*>(out.get() + j * size));
  });
}

// out[t] = sum over t's top_k copies of weight * rows[row_of_copy[t * top_k + j]]: the
// unpermute, one block per token, fp32 accumulation.
__global__ void combine_rows(const __nv_bfloat16* rows, const int* row_of_copy, int tokens, int top_k, int width,
                             __nv_bfloat16* out) {
  const int t = blockIdx.x;
  if (t >= tokens) return;
  const float weight = 1.0f / top_k;
  for (int j = threadIdx.x; j < width; j += blockDim.x) {
    float sum = 0;
    for (int c = 0; c < top_k; ++c) sum += weight * __bfloat162float(rows[size_t(row_of_copy[t * top_k + c]) * width + j]);
    out[size_t(t) * width + j] = __float2bfloat16(sum);
  }
}

// h = silu(h) * g (SwiGLU), or silu(h) for a plain MLP (g == nullptr), over every routed row.
__global__ void activation(__nv_bfloat16* h, const __nv_bfloat16* g, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    const float x = __bfloat162float(h[i]);
    const float silu = x / (1.0f + __expf(-x));
    h[i] = __float2bfloat16(g ? silu * __bfloat162float(g[i]) : silu);
  }
}

// One MoE expert layer on one GPU, with moesim's routing: every expert has its own weights,
// as in a real layer, and its GEMMs run one cuBLAS call each, as a sequential grouped GEMM does.
class ExpertLayer {
 public:
  explicit ExpertLayer(const calibration::ExpertLoadCase& l)
      : l_(l), order_(calibration::expert_order(l)), routed_(order_.token_of_row.size()),
        w_(size_t(l.d_model) * l.d_ffn), weights_(w_ * l.experts * l.matrices), x_(size_t(l.tokens) * l.d_model),
        xs_(routed_ * l.d_model), h_(routed_ * l.d_ffn), g_(routed_ * l.d_ffn), ys_(routed_ * l.d_model),
        y_(size_t(l.tokens) * l.d_model), token_of_row_(routed_), row_of_copy_(routed_) {
    randomize(weights_, 4), randomize(x_, 5), randomize(xs_, 6);
    check(cudaMemcpy(token_of_row_.get(), order_.token_of_row.data(), sizeof(int) * routed_, cudaMemcpyHostToDevice), "upload");
    check(cudaMemcpy(row_of_copy_.get(), order_.row_of_copy.data(), sizeof(int) * routed_, cudaMemcpyHostToDevice), "upload");
  }

  void expert_gemms() {
    for (int e = 0; e < l_.experts; ++e) {
      const int r = order_.rows(e);
      if (r == 0) continue;
      const size_t o = order_.offset[e];
      const __nv_bfloat16* we = weights_.get() + w_ * l_.matrices * e;
      gemm(r, l_.d_ffn, l_.d_model, xs_.get() + o * l_.d_model, we, h_.get() + o * l_.d_ffn);
      if (l_.matrices == 3) gemm(r, l_.d_ffn, l_.d_model, xs_.get() + o * l_.d_model, we + w_, g_.get() + o * l_.d_ffn);
    }
    activation<<<1024, 256>>>(h_.get(), l_.matrices == 3 ? g_.get() : nullptr, routed_ * l_.d_ffn);
    for (int e = 0; e < l_.experts; ++e) {
      const int r = order_.rows(e);
      if (r == 0) continue;
      const size_t o = order_.offset[e];
      const __nv_bfloat16* down = weights_.get() + w_ * l_.matrices * e + w_ * (l_.matrices - 1);
      gemm(r, l_.d_model, l_.d_ffn, h_.get() + o * l_.d_ffn, down, ys_.get() + o * l_.d_model);
    }
  }

  void whole_layer() {
    const int width_vec = l_.d_model * int(sizeof(__nv_bfloat16)) / int(sizeof(uint4));
    gather_rows<<<int(routed_), 128>>>(reinterpret_cast<const uint4*>(x_.get()), token_of_row_.get(), int(routed_),
                                       width_vec, reinterpret_cast<uint4*>(xs_.get()));
    expert_gemms();
    combine_rows<<<l_.tokens, 256>>>(ys_.get(), row_of_copy_.get(), l_.tokens, l_.top_k, l_.d_model, y_.get());
  }

 private:
  calibration::ExpertLoadCase l_;
  calibration::ExpertOrder order_;
  size_t routed_, w_;
  DeviceArray<__nv_bfloat16> weights_, x_, xs_, h_, g_, ys_, y_;
  DeviceArray<int> token_of_row_, row_of_copy_;
};

void run_case(benchmark::State& state, const KernelCase& c) {
  switch (c.kind) {
    case KernelKind::GEMM: gemm_case(state, c); break;
    case KernelKind::COPY: copy_case(state, c); break;
    case KernelKind::PERMUTE: permute_case(state, c); break;
    case KernelKind::EXPERT_GEMMS: {
      ExpertLayer layer(c.load);
      timed_loop(state, 1, [&](int) { layer.expert_gemms(); });  // hundreds of launches per call
      break;
    }
    case KernelKind::EXPERT_LAYER: {
      ExpertLayer layer(c.load);
      timed_loop(state, 1, [&](int) { layer.whole_layer(); });
      break;
    }
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
  benchmark::AddCustomContext("moesim_cuda_l2_bytes", std::to_string(prop.l2CacheSize));
  benchmark::AddCustomContext("moesim_cuda_runtime", std::to_string(runtime));
  benchmark::AddCustomContext("moesim_cuda_driver", std::to_string(driver));
  for (const KernelCase& c : cases)
    benchmark::RegisterBenchmark(calibration::case_name(c).c_str(), [c](benchmark::State& s) { run_case(s, c); })
        ->UseManualTime()
        ->MinTime(min_time_s);
  return true;
}

}  // namespace moesim::bench
