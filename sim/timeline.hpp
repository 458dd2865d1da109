#pragma once
#include <cstdint>
#include <vector>

#include "sim/step_program.hpp"

namespace moesim {

// One interval of a GPU's step: an op running, or the GPU waiting before it.
struct Span {
  double start_s = 0;
  double end_s = 0;
  int32_t op = 0;  // index into StepProgram::ops[gpu]
  Part part = Part::ATTENTION;
};

// What one GPU did during the step: seconds per part (always), spans (for traced GPUs).
struct GpuTimeline {
  int gpu = 0;
  PartSeconds part_s{};
  double end_s = 0;
  bool traced = false;
  std::vector<Span> spans;
};

// The slowest expert of a layer holds every rank of its EP group at the combine: the
// last GPU to arrive there, and how far behind the group's mean arrival it was.
struct LayerStraggler {
  int layer = 0;
  int gpu = -1;             // the GPU that arrived last most behind the others
  double max_wait_s = 0;    // that GPU's lateness: its arrival minus the mean arrival
  double mean_wait_s = 0;   // the lateness of the last arrival, averaged over the layer's combines
  int combines = 0;
};

// Collects both engines' observations the same way, so that their results differ only in
// the times they observed.
class TimelineRecorder {
 public:
  // Spans are kept for GPUs with traced[gpu] != 0.
  TimelineRecorder(const StepProgram& program, const std::vector<char>& traced);

  void record(int gpu, int op, Part part, double start_s, double end_s);
  // A collective starts once its last member arrived; the others waited for it.
  struct Arrival {
    int gpu = 0;
    int op = 0;
    double time_s = 0;
  };
  void collective_started(int collective, const std::vector<Arrival>& arrivals, double start_s);
  // The same on the communication stream: the members went on (no wait), stragglers noted.
  void note_arrivals(int collective, const std::vector<Arrival>& arrivals);
  // Units of a STAGE_UNITS program took part_s[part] of each part; the GPU ended at end_s.
  void record_unit(int gpu, const PartSeconds& part_s, double end_s);
  // At a layer's forward combine (holds_stragglers), the last member arrived `lateness` after
  // the members' mean arrival (in each of `times` runs of it).
  void note_straggler(int layer, int last_gpu, double lateness, int times = 1);
  static bool holds_stragglers(const Collective& c) { return c.part == Part::COMBINE && !c.backward; }

  // One per GPU of the program, in program.gpus order.
  std::vector<GpuTimeline> timelines() && { return std::move(timelines_); }
  std::vector<LayerStraggler> stragglers() const;

 private:
  const StepProgram& program_;
  std::vector<int> slot_of_gpu_;  // per GPU id: its index in timelines_ (-1 outside the program)
  std::vector<GpuTimeline> timelines_;
  std::vector<LayerStraggler> per_layer_;  // indexed by layer
};

// Which GPUs are traced: all of them for small programs, else the first
// `gpus_per_stage` GPUs of each pipeline stage.
std::vector<char> traced_gpus(const StepProgram& program, int gpus_per_stage);

}  // namespace moesim
