// moesim-mpi-bench: MoE communication and a whole MoE layer on CPU ranks (MPI processes).
//   mpirun -np R moesim-mpi-bench alltoall [--max-bytes B]
//       all-to-all sweep printed in the nccl-tests table layout (read by moesim calibrate
//       --nccl-tests alltoall=LOG), sizes per rank 1 KiB .. B
//   mpirun -np R moesim-mpi-bench layer --experts E --top-k K --tokens T --d-model D --d-ffn F
//       [--alpha A] [--seed S] [--capacity-factor CF] [--iterations N] [--profile P.json]
//       one MoE layer forward (validation/calibration/mpi_layer.hpp), timed per phase; with
//       --profile, moesim's prediction beside it. Rank 0 prints one row; --json FILE appends
//       the full record (phases measured and predicted) as a JSON line; --label names it.
#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <cblas.h>
#include <nlohmann/json.hpp>

#include "hardware/input_error.hpp"
#include "models/random.hpp"
#include "validation/calibration/fit.hpp"
#include "validation/calibration/mpi_layer.hpp"

namespace {

using namespace moesim;
using namespace moesim::calibration;

int rank_ = 0, ranks_ = 1;

[[noreturn]] void usage(const std::string& what) {
  if (rank_ == 0) std::fprintf(stderr, "moesim-mpi-bench: %s\n", what.c_str());
  MPI_Abort(MPI_COMM_WORLD, 2);
  std::exit(2);
}

std::map<std::string, std::string> options(int argc, char** argv) {
  std::map<std::string, std::string> o;
  for (int i = 2; i < argc; ++i) {
    if (std::strncmp(argv[i], "--", 2) != 0 || i + 1 >= argc) usage(std::string("bad argument ") + argv[i]);
    o[argv[i] + 2] = argv[i + 1];
    ++i;
  }
  return o;
}

double number(const std::map<std::string, std::string>& o, const std::string& key, std::optional<double> fallback = {}) {
  const auto it = o.find(key);
  if (it == o.end()) {
    if (!fallback) usage("--" + key + " is required");
    return *fallback;
  }
  char* end = nullptr;
  const double v = std::strtod(it->second.c_str(), &end);
  if (*end || !std::isfinite(v) || v < 0) usage("--" + key + " " + it->second + ": expected a number >= 0");
  return v;
}

double max_over_ranks(double v) {
  double out = 0;
  MPI_Allreduce(&v, &out, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return out;
}

void print_rank_lines() {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  std::vector<char> all(256 * ranks_);
  MPI_Gather(host, 256, MPI_CHAR, all.data(), 256, MPI_CHAR, 0, MPI_COMM_WORLD);
  if (rank_ != 0) return;
  for (int r = 0; r < ranks_; ++r)
    std::printf("#  Rank %2d Group  0 Pid %6d on %10s device %2d [0x00] CPU process\n", r, 0, &all[256 * r], r);
}

// nccl-tests' layout, so that one importer reads both (validation/calibration/nccl_tests.hpp).
int alltoall(const std::map<std::string, std::string>& o) {
  const double max_bytes = number(o, "max-bytes", 64 << 20);
  if (rank_ == 0)
    std::printf("# moesim-mpi-bench alltoall: MPI_Alltoall of MPI_BYTE, nccl-tests table layout\n#\n# Using devices\n");
  print_rank_lines();
  if (rank_ == 0)
    std::printf("#\n#       size         count      type   redop    root     time   algbw   busbw #wrong     time   algbw   busbw #wrong\n"
                "#        (B)    (elements)                               (us)  (GB/s)  (GB/s)            (us)  (GB/s)  (GB/s)       \n");
  for (double size = 1024; size <= max_bytes; size *= 4) {
    const int per_pair = int(size / ranks_);
    std::vector<char> send(size_t(per_pair) * ranks_, 1), recv(send.size());
    const int iterations = size <= (1 << 20) ? 50 : 10;
    for (int i = 0; i < 3; ++i) MPI_Alltoall(send.data(), per_pair, MPI_BYTE, recv.data(), per_pair, MPI_BYTE, MPI_COMM_WORLD);
    MPI_Barrier(MPI_COMM_WORLD);
    const double start = MPI_Wtime();
    for (int i = 0; i < iterations; ++i)
      MPI_Alltoall(send.data(), per_pair, MPI_BYTE, recv.data(), per_pair, MPI_BYTE, MPI_COMM_WORLD);
    const double t = max_over_ranks((MPI_Wtime() - start) / iterations);
    const double bytes = double(per_pair) * ranks_;
    if (rank_ == 0)
      std::printf("%12.0f  %12.0f  %8s  %6s  %6d  %7.2f  %6.2f  %6.2f  %5s  %7s  %6s  %6s  %5s\n", bytes, bytes, "int8",
                  "none", -1, t * 1e6, bytes / t / 1e9, bytes / t / 1e9 * (ranks_ - 1) / ranks_, "N/A", "N/A", "N/A", "N/A",
                  "N/A");
  }
  return 0;
}

std::vector<float> random_rows(size_t n, uint64_t seed) {
  Rng rng({seed, uint64_t(rank_)});
  std::vector<float> v(n);
  for (float& x : v) x = float(rng.uniform() * 2 - 1);
  return v;
}

void sgemm(int m, int n, int k, const float* a, const float* b, float* c) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
}

int layer(const std::map<std::string, std::string>& o) {
  MpiLayerCase c;
  ExpertLoadCase& l = c.load;
  l.experts = int(number(o, "experts")), l.top_k = int(number(o, "top-k")), l.tokens = int(number(o, "tokens"));
  l.d_model = int(number(o, "d-model")), l.d_ffn = int(number(o, "d-ffn"));
  l.alpha = number(o, "alpha", 1000), l.seed = int(number(o, "seed", 0)), l.matrices = 3;
  c.ranks = ranks_;
  if (o.count("capacity-factor")) c.capacity_factor = number(o, "capacity-factor");
  if (l.experts % ranks_ || l.top_k > l.experts || l.top_k < 1) usage("experts must be a multiple of the ranks, top-k in [1, experts]");
  const int iterations = int(number(o, "iterations", 5));

  const MpiLayerPlan plan = plan_mpi_layer(c);
  const int D = l.d_model, F = l.d_ffn, epr = plan.experts_per_rank;
  const std::vector<int32_t>& mine = plan.kept[rank_];
  // Send order: by destination expert (so by destination rank); remember where each copy went.
  std::vector<int> order;
  for (int i = 0; i < int(mine.size()); ++i)
    if (mine[i] >= 0) order.push_back(i);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return mine[a] < mine[b]; });
  std::vector<int> send_counts(ranks_), recv_counts(ranks_), sdispl(ranks_), rdispl(ranks_);
  for (int d = 0; d < ranks_; ++d) send_counts[d] = int(plan.rows_to[rank_][d]) * D, recv_counts[d] = int(plan.rows_to[d][rank_]) * D;
  for (int d = 1; d < ranks_; ++d) sdispl[d] = sdispl[d - 1] + send_counts[d - 1], rdispl[d] = rdispl[d - 1] + recv_counts[d - 1];
  const int received = (rdispl.back() + recv_counts.back()) / D;
  // Received rows arrive by source, each source's rows sorted by expert: regroup by expert.
  std::vector<int> regroup(received);  // expert-major position -> received position
  {
    std::vector<std::vector<int>> by_expert(epr);
    for (int s = 0, pos = 0; s < ranks_; ++s) {
      std::vector<int> counts(epr, 0);
      // the source's rows for this rank, in expert order: recompute from its plan
      for (int32_t e : plan.kept[s])
        if (e >= 0 && e / epr == rank_) ++counts[e % epr];
      for (int e = 0; e < epr; ++e)
        for (int i = 0; i < counts[e]; ++i) by_expert[e].push_back(pos++);
    }
    int k = 0;
    for (auto& rows : by_expert)
      for (int r : rows) regroup[k++] = r;
  }
  const auto x = random_rows(size_t(l.tokens) * D, 1);
  const auto w_in = random_rows(size_t(epr) * 2 * D * F, 2), w_out = random_rows(size_t(epr) * D * F, 3);
  std::vector<float> xs(order.size() * D), recv(size_t(received) * D), grouped(recv.size()), h(size_t(received) * F),
      g(h.size()), ys(recv.size()), back(xs.size()), y(x.size());

  std::vector<std::vector<double>> phases;  // per iteration: permute, dispatch, experts, combine_a2a, combine, total
  for (int it = 0; it < iterations + 1; ++it) {
    MPI_Barrier(MPI_COMM_WORLD);
    double t[6];
    const double start = MPI_Wtime();
    for (size_t i = 0; i < order.size(); ++i)
      std::memcpy(&xs[i * D], &x[size_t(order[i] / l.top_k) * D], D * sizeof(float));
    t[0] = MPI_Wtime();
    std::vector<int> counts_in(ranks_);
    MPI_Alltoall(send_counts.data(), 1, MPI_INT, counts_in.data(), 1, MPI_INT, MPI_COMM_WORLD);
    MPI_Alltoallv(xs.data(), send_counts.data(), sdispl.data(), MPI_FLOAT, recv.data(), recv_counts.data(), rdispl.data(),
                  MPI_FLOAT, MPI_COMM_WORLD);
    t[1] = MPI_Wtime();
    for (int i = 0; i < received; ++i) std::memcpy(&grouped[size_t(i) * D], &recv[size_t(regroup[i]) * D], D * sizeof(float));
    for (int e = 0, off = 0; e < epr; ++e) {
      const int m = plan.expert_rows[rank_][e];
      if (m == 0) continue;
      sgemm(m, F, D, &grouped[size_t(off) * D], &w_in[size_t(e) * 2 * D * F], &h[size_t(off) * F]);
      sgemm(m, F, D, &grouped[size_t(off) * D], &w_in[(size_t(e) * 2 + 1) * D * F], &g[size_t(off) * F]);
      off += m;
    }
    for (size_t i = 0; i < size_t(received) * F; ++i) h[i] = h[i] / (1 + std::exp(-h[i])) * g[i];
    for (int e = 0, off = 0; e < epr; ++e) {
      const int m = plan.expert_rows[rank_][e];
      if (m == 0) continue;
      sgemm(m, D, F, &h[size_t(off) * F], &w_out[size_t(e) * D * F], &grouped[size_t(off) * D]);
      off += m;
    }
    for (int i = 0; i < received; ++i) std::memcpy(&ys[size_t(regroup[i]) * D], &grouped[size_t(i) * D], D * sizeof(float));
    t[2] = MPI_Wtime();
    MPI_Alltoallv(ys.data(), recv_counts.data(), rdispl.data(), MPI_FLOAT, back.data(), send_counts.data(), sdispl.data(),
                  MPI_FLOAT, MPI_COMM_WORLD);
    t[3] = MPI_Wtime();
    std::fill(y.begin(), y.end(), 0.0f);
    const float weight = 1.0f / l.top_k;
    for (size_t i = 0; i < order.size(); ++i) {
      float* dst = &y[size_t(order[i] / l.top_k) * D];
      const float* src = &back[i * D];
      for (int j = 0; j < D; ++j) dst[j] += weight * src[j];
    }
    t[4] = MPI_Wtime();
    if (it == 0) continue;  // warm-up
    std::vector<double> p = {t[0] - start, t[1] - t[0], t[2] - t[1], t[3] - t[2], t[4] - t[3], t[4] - start};
    for (double& v : p) v = max_over_ranks(v);
    phases.push_back(p);
  }
  if (rank_ != 0) return 0;
  const auto median = [&](int k) {
    std::vector<double> v;
    for (const auto& p : phases) v.push_back(p[k]);
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  nlohmann::ordered_json out = {
      {"ranks", ranks_}, {"experts", l.experts}, {"top_k", l.top_k}, {"tokens_per_rank", l.tokens},
      {"d_model", D}, {"d_ffn", F}, {"alpha", l.alpha}, {"seed", l.seed},
      {"capacity_factor", c.capacity_factor ? nlohmann::ordered_json(*c.capacity_factor) : nlohmann::ordered_json(nullptr)},
      {"drop_rate", plan.dropped / plan.routed},
      {"measured_s", {{"permute", median(0)}, {"dispatch", median(1)}, {"experts", median(2)}, {"combine_a2a", median(3)},
                      {"combine", median(4)}, {"total", median(5)}}}};
  if (o.count("profile")) {
    const KernelProfile profile = read_kernel_profile(o.at("profile"));
    if (!profile.intra_node) throw InputError(o.at("profile") + ": no intra_node link fit (calibrate with --nccl-tests)");
    const MpiLayerTimes p = predict_mpi_layer(c, plan, profile_cost_model(profile, 4));
    out["predicted_s"] = {{"permute", p.permute_s}, {"dispatch", p.dispatch_s}, {"experts", p.experts_s},
                          {"combine_a2a", p.combine_a2a_s}, {"combine", p.combine_s}, {"total", p.total_s()}};
    out["error_pct"] = 100 * (p.total_s() - median(5)) / median(5);
  }
  // One row for the console, the JSON line for plotting and diffing (appended to --json).
  const std::string label = o.count("label") ? o.at("label") : "layer";
  out["label"] = label;
  if (o.count("json")) {
    FILE* f = std::fopen(o.at("json").c_str(), "a");
    if (!f) throw InputError(o.at("json") + ": cannot append");
    std::fprintf(f, "%s\n", out.dump().c_str());
    std::fclose(f);
  }
  std::printf("%-34s %5d %6.1f %%  %10.2f ms", label.c_str(), ranks_, 100 * plan.dropped / plan.routed, median(5) * 1e3);
  if (out.contains("predicted_s"))
    std::printf("  %10.2f ms  %+7.1f %%", out["predicted_s"]["total"].get<double>() * 1e3, out["error_pct"].get<double>());
  std::printf("\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks_);
  openblas_set_num_threads(1);  // one core per rank
  int rc = 0;
  try {
    const std::string verb = argc > 1 ? argv[1] : "";
    if (verb == "alltoall") rc = alltoall(options(argc, argv));
    else if (verb == "layer") rc = layer(options(argc, argv));
    else usage("expected alltoall or layer");
  } catch (const moesim::InputError& e) {
    if (rank_ == 0) std::fprintf(stderr, "moesim-mpi-bench: error: %s\n", e.what());
    rc = 1;
  }
  MPI_Finalize();
  return rc;
}
