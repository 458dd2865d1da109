#include "sim/timeline.hpp"

#include <algorithm>
#include <stdexcept>

namespace moesim {

TimelineRecorder::TimelineRecorder(const StepProgram& program, const std::vector<char>& traced)
    : program_(program), slot_of_gpu_(program.ops.size(), -1), timelines_(program.gpus.size()) {
  for (size_t slot = 0; slot < timelines_.size(); ++slot) {
    const int gpu = program.gpus[slot];
    slot_of_gpu_[size_t(gpu)] = int(slot);
    timelines_[slot].gpu = gpu;
    timelines_[slot].traced = traced[size_t(gpu)];
  }
}

void TimelineRecorder::record(int gpu, int op, Part part, double start_s, double end_s) {
  GpuTimeline& t = timelines_[size_t(slot_of_gpu_[size_t(gpu)])];
  t.part_s[size_t(part)] += end_s - start_s;
  t.end_s = std::max(t.end_s, end_s);
  if (t.traced && end_s > start_s) t.spans.push_back({start_s, end_s, op, part});
}

void TimelineRecorder::collective_started(int collective, const std::vector<Arrival>& arrivals, double start_s) {
  for (const Arrival& a : arrivals) record(a.gpu, a.op, Part::STRAGGLER_WAIT, a.time_s, start_s);
  note_arrivals(collective, arrivals);
}

void TimelineRecorder::note_arrivals(int collective, const std::vector<Arrival>& arrivals) {
  double mean = 0;
  const Arrival* last = &arrivals.front();
  for (const Arrival& a : arrivals) {
    mean += a.time_s / arrivals.size();
    if (a.time_s > last->time_s || (a.time_s == last->time_s && a.gpu < last->gpu)) last = &a;
  }
  // The forward combine is where the slowest expert holds its group.
  const Collective& c = program_.collectives[collective];
  if (!holds_stragglers(c)) return;
  if (c.absent_straggler_gpu >= 0) return note_straggler(c.layer, c.absent_straggler_gpu, c.absent_straggler_lateness_s);
  if (arrivals.size() >= 2) note_straggler(c.layer, last->gpu, last->time_s - mean);
}

void TimelineRecorder::record_unit(int gpu, const PartSeconds& part_s, double end_s) {
  GpuTimeline& t = timelines_[size_t(slot_of_gpu_[size_t(gpu)])];
  for (size_t part = 0; part < PART_COUNT; ++part) t.part_s[part] += part_s[part];
  t.end_s = std::max(t.end_s, end_s);
  if (t.traced) throw std::logic_error("a program of units has no ops to trace");
}

void TimelineRecorder::note_straggler(int layer, int last_gpu, double lateness, int times) {
  if (size_t(layer) >= per_layer_.size()) per_layer_.resize(size_t(layer) + 1);
  LayerStraggler& s = per_layer_[size_t(layer)];
  s.layer = layer;
  s.mean_wait_s += lateness * times;
  s.combines += times;
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
