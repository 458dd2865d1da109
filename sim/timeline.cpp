#include "sim/timeline.hpp"

#include <algorithm>

namespace moesim {

TimelineRecorder::TimelineRecorder(const StepProgram& program, const std::vector<char>& traced)
    : program_(program), timelines_(program.ops.size()) {
  for (size_t gpu = 0; gpu < timelines_.size(); ++gpu) timelines_[gpu].traced = traced[gpu];
}

void TimelineRecorder::record(int gpu, int op, Part part, double start_s, double end_s) {
  GpuTimeline& t = timelines_[gpu];
  t.part_s[size_t(part)] += end_s - start_s;
  t.end_s = std::max(t.end_s, end_s);
  if (t.traced && end_s > start_s) t.spans.push_back({start_s, end_s, op, part});
}

void TimelineRecorder::collective_started(int collective, const std::vector<Arrival>& arrivals, double start_s) {
  double mean = 0;
  const Arrival* last = &arrivals.front();
  for (const Arrival& a : arrivals) {
    record(a.gpu, a.op, Part::STRAGGLER_WAIT, a.time_s, start_s);
    mean += a.time_s / arrivals.size();
    if (a.time_s > last->time_s || (a.time_s == last->time_s && a.gpu < last->gpu)) last = &a;
  }
  // The forward combine is where the slowest expert holds its group.
  const Collective& c = program_.collectives[collective];
  if (c.part != Part::COMBINE || c.backward) return;
  int last_gpu = last->gpu;
  double lateness = last->time_s - mean;
  if (c.absent_straggler_gpu >= 0) last_gpu = c.absent_straggler_gpu, lateness = c.absent_straggler_lateness_s;
  else if (arrivals.size() < 2) return;
  if (size_t(c.layer) >= per_layer_.size()) per_layer_.resize(c.layer + 1);
  LayerStraggler& s = per_layer_[c.layer];
  s.layer = c.layer;
  s.mean_wait_s += lateness;
  ++s.combines;
  if (s.gpu < 0 || lateness > s.max_wait_s) s.gpu = last_gpu, s.max_wait_s = lateness;
}

std::vector<LayerStraggler> TimelineRecorder::stragglers() const {
  std::vector<LayerStraggler> out;
  for (LayerStraggler s : per_layer_) {
    if (s.combines == 0) continue;
    s.mean_wait_s /= s.combines;
    out.push_back(s);
  }
  return out;
}

std::vector<char> traced_gpus(const StepProgram& program, int gpus_per_stage) {
  std::vector<char> traced(program.ops.size(), 0);
  for (int gpu : program.gpus)
    if (gpu % program.gpus_per_stage < gpus_per_stage) traced[gpu] = 1;
  return traced;
}

}  // namespace moesim
