#include "sim/limits.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace moesim {

namespace {

constexpr double GIB = 1024.0 * 1024 * 1024;
// Costs measured on the 2-core development machine (BENCHMARKS.md): the DeepSeek-V3 2048-GPU
// step runs ~2.4 M ops in ~50 s and ~370 MB; routing costs ~40 ns per (token, choice).
constexpr double DES_SECONDS_PER_OP = 25e-6;
constexpr double PROGRAM_BYTES_PER_OP = 64;    // the op, its timeline share, collective state
constexpr double DES_BYTES_PER_GPU = 256e3;    // host, links, actor stack pages, state
constexpr double ROUTING_SECONDS_PER_CHOICE = 40e-9;

std::string gib(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f GiB", bytes / GIB);
  return buf;
}

std::string seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f s", s);
  return buf;
}

}  // namespace

RunEstimate estimate_run(const Scenario& s) {
  const ParallelPlan& p = s.plan;
  const ModelSpec& m = s.model;
  const double layers_per_stage = std::ceil(double(m.layers) / p.pp);
  // Per layer and micro-batch, forward and backward: up to 7 ops each, and messages.
  const double ops_per_gpu = 2.0 * p.micro_batches * (layers_per_stage * (7 + (p.tp > 1 ? 2 : 0)) + 2) + 4;
  const bool des = s.sim.engine == "des";
  const double gpus_in_program = des ? p.world() : p.pp;
  const double ops = ops_per_gpu * gpus_in_program;
  const int routed = std::min(p.micro_batches, s.sim.routed_micro_batches.value_or(p.micro_batches));
  const double group = p.ep_group_gpus();
  const double routing_bytes = group * group * 4.0 * m.moe_layers() * routed;  // the pair matrices
  const double choices = group * p.tokens_per_gpu() * double(m.top_k) * m.moe_layers() * routed;
  RunEstimate e;
  e.memory_bytes = ops * PROGRAM_BYTES_PER_OP + routing_bytes + (des ? DES_BYTES_PER_GPU * p.world() : 0);
  e.wall_s = choices * ROUTING_SECONDS_PER_CHOICE + (des ? ops * DES_SECONDS_PER_OP : 0);
  e.what = std::to_string(long(gpus_in_program)) + (des ? " GPUs simulated" : " GPUs walked") + " x ~" +
           std::to_string(long(ops_per_gpu)) + " ops each, routing " + std::to_string(long(group)) + " GPUs x " +
           std::to_string(p.tokens_per_gpu()) + " tokens x " + std::to_string(m.moe_layers()) + " MoE layers";
  return e;
}

double memory_limit_bytes(const Scenario& s) {
  if (s.sim.max_memory_gib) return *s.sim.max_memory_gib * GIB;
  return double(sysconf(_SC_PHYS_PAGES)) * double(sysconf(_SC_PAGE_SIZE));
}

void check_run_fits_limits(const Scenario& s) {
  const RunEstimate e = estimate_run(s);
  const double memory = memory_limit_bytes(s);
  if (e.memory_bytes > memory)
    throw ResourceLimit("this run needs about " + gib(e.memory_bytes) + " (" + e.what + "), more than " +
                        (s.sim.max_memory_gib ? "sim.max_memory_gib = " + gib(memory) : "this machine's " + gib(memory)) +
                        "; raise sim.max_memory_gib, use fewer GPUs or micro-batches, or the analytic engine");
  if (s.sim.max_wall_s && e.wall_s > *s.sim.max_wall_s)
    throw ResourceLimit("this run needs about " + seconds(e.wall_s) + " (" + e.what + "), more than sim.max_wall_s = " +
                        seconds(*s.sim.max_wall_s) + "; raise sim.max_wall_s or use the analytic engine");
}

WallBudget::WallBudget(const Scenario& s)
    : limit_s_(s.sim.max_wall_s.value_or(std::numeric_limits<double>::infinity())) {}

double WallBudget::left_s() const {
  return limit_s_ - std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void WallBudget::check(const char* stage) const {
  if (left_s() < 0)
    throw ResourceLimit(std::string("stopped after ") + stage + ": the run took longer than sim.max_wall_s = " +
                        seconds(limit_s_));
}

double resident_bytes() {
  long pages = 0, resident = 0;
  if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return double(resident) * double(sysconf(_SC_PAGE_SIZE));
}

}  // namespace moesim
