#pragma once
#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "hardware/topology.hpp"
#include "sim/scenario.hpp"
#include "sim/traffic.hpp"

namespace moesim {

// The named parts of the step time, in result order; they sum to the step time.
enum class Part : uint8_t {
  ATTENTION, DENSE_FFN, EXPERT_COMPUTE, STRAGGLER_WAIT, DISPATCH, COMBINE, TP_COMM, CP_COMM,
  PIPELINE_BUBBLE, GRAD_SYNC, OPTIMIZER, HOST_WAIT, COUNT
};
constexpr size_t PART_COUNT = size_t(Part::COUNT);
const char* part_name(Part part);
using PartSeconds = std::array<double, PART_COUNT>;

enum class OpKind : uint8_t {
  COMPUTE,     // a kernel whose duration the cost model gives
  COLLECTIVE,  // wait for every member, then move the collective's bytes
  SEND,        // post a pipeline message and go on
  RECV,        // wait until a pipeline message has arrived
  // A collective on a communication stream: START arrives and goes on (the collective runs
  // once every member has started it); WAIT blocks until it has finished.
  COLLECTIVE_START,
  COLLECTIVE_WAIT,
  // ProgramScope::STAGE_UNITS only: run pipeline stage ref's units in StepProgram::schedule's
  // order, each waiting for its input from the neighbouring stage.
  SCHEDULE,
};

struct Op {
  OpKind kind = OpKind::COMPUTE;
  Part part = Part::ATTENTION;
  bool backward = false;
  int16_t layer = -1;        // -1: once per step (gradient sync, optimizer)
  int32_t micro_batch = -1;
  int32_t ref = -1;          // COLLECTIVE*: index into collectives; SEND/RECV: into messages
  double seconds = 0;        // COMPUTE: duration from the cost model
  double amount = 0;         // COMPUTE: FLOPs or HBM bytes; SEND/RECV: bytes
};

enum class CollectiveKind : uint8_t { ALL_TO_ALL, ALL_REDUCE };

// One collective instance, shared by the ops of all its members.
struct Collective {
  CollectiveKind kind = CollectiveKind::ALL_TO_ALL;
  Part part = Part::DISPATCH;
  bool backward = false;
  int16_t layer = -1;
  int32_t micro_batch = -1;
  int32_t group = -1;                    // index into StepProgram::groups: the member GPUs
  const MicroBatchLoad* load = nullptr;  // all-to-all: copies between group members
  double bytes_per_copy = 0;             // all-to-all
  bool reverse = false;                  // all-to-all: from experts back to token owners
  double bytes = 0;                      // all-reduce: bytes per member
  int participants = 0;                  // members whose ops are in the program
  // Members outside the program (the analytic engine's scope) run the same ops as those in
  // it except for their expert GEMMs. Right after those, the slowest member arrives this
  // much later than the member in the program; it is the group's straggler.
  double absent_lag_s = 0;
  int32_t absent_straggler_gpu = -1;
  double absent_straggler_lateness_s = 0;  // its arrival minus the group's mean arrival
};

struct Message {
  int src_gpu = 0;
  int dst_gpu = 0;
  double bytes = 0;
};

// The pipeline messages of one EP group for one micro-batch and direction leave together:
// the group's GPUs left their last combine together. A batch moves once all its senders
// have posted; its messages arrive together.
struct MessageBatch {
  int first_message = 0;
  int messages = 0;
  int participants = 0;  // senders whose ops are in the program
};

// Which GPUs a program covers. The analytic engine walks the first GPU of each pipeline
// stage: the other members of its EP group differ only in their expert GEMMs, which the
// collectives after them carry as a lag; other EP groups see tokens from the same
// distribution. The discrete-event engine runs every GPU. STAGE_UNITS is ONE_GPU_PER_STAGE
// with each distinct unit (one micro-batch through one model chunk in one direction, between
// its receive and its send) built once, as pieces of one layer each, and a SCHEDULE op in
// place of the stage's units: a stage repeats the same few units many times, so plan ranking
// need not build them all (no spans can be traced from it).
enum class ProgramScope { ONE_GPU_PER_STAGE, STAGE_UNITS, ALL_GPUS };

// The order in which a pipeline stage runs its units: Megatron-Core's 1F1B, interleaved when
// vp > 1. Warm-up forwards, then one forward and one backward in turn, then the remaining
// backwards. The k-th unit of a direction is micro-batch (k / (pp vp)) pp + k % pp of chunk
// (k / pp) % vp (backward: the chunks in reverse); chunk c of stage s is virtual stage c pp + s.
//
// Combined (Megatron's --overlap-moe-expert-parallel-comm, "combined 1F1B"): in the steady
// phase a forward and a backward of different micro-batches run as one unit, layer by layer,
// each one's all-to-alls hidden behind the other's computation. Megatron pairs forward
// warmup + t with backward t (interleaved), or forward t + 1 with backward t (no pipelining).
struct PipelineOrder {
  int pp = 1, vp = 1, micro_batches = 1;
  bool combined = false;
  struct Unit {
    int micro_batch = 0;
    int virtual_stage = 0;
    bool backward = false;
  };
  int units_per_stage() const { return 2 * micro_batches * vp; }
  Unit at(int stage, int i) const;  // the i-th unit stage runs, i < units_per_stage()
  // Combined only: whether units i and i + 1 of the stage run as one.
  bool starts_pair(int stage, int i) const {
    if (!combined) return false;
    const int units = micro_batches * vp, warmup = warmup_units(stage), steady = i - warmup;
    if (steady < 0 || steady + 1 >= 2 * (units - warmup)) return false;
    return warmup > 0 ? steady % 2 == 0 : steady % 2 == 1;
  }

 private:
  int warmup_units(int stage) const {
    return std::min(micro_batches * vp, vp == 1 ? pp - stage - 1 : 2 * (pp - stage - 1) + (vp - 1) * pp);
  }
};

// Inline: the analytic engine asks for every unit of every stage of every plan it ranks.
inline PipelineOrder::Unit PipelineOrder::at(int stage, int i) const {
  const int units = micro_batches * vp;  // per direction
  const int warmup = warmup_units(stage);
  bool backward = false;
  int k = i;  // the unit's rank among the stage's units of its direction
  if (i >= warmup) {
    const int steady = i - warmup;
    if (steady < 2 * (units - warmup)) {
      backward = steady % 2 == 1;
      k = backward ? steady / 2 : warmup + steady / 2;
    } else {
      backward = true;
      k = steady - (units - warmup);
    }
  }
  if (vp == 1) return {k, stage, backward};  // the same, without the divisions
  const int chunk = k % (pp * vp) / pp;
  return {k / (pp * vp) * pp + k % pp, (backward ? vp - 1 - chunk : chunk) * pp + stage, backward};
}


// One training step as each GPU executes it: per layer and micro-batch in 1F1B order,
// attention, TP all-reduce, gate, dispatch, expert GEMMs over this GPU's real rows,
// combine; backward with the all-to-alls reversed; pipeline sends and receives; gradient
// all-reduce; optimizer. Compute durations come from the cost model here, once; how long
// collectives and messages take is what the engines decide.
struct StepProgram {
  std::vector<std::vector<Op>> ops;      // per GPU id; empty for GPUs outside the program
  std::vector<Collective> collectives;
  std::vector<std::vector<int>> groups;  // member GPU ids of collective groups
  std::vector<Message> messages;
  std::vector<MessageBatch> batches;
  std::vector<int32_t> batch_of_message;
  std::vector<int> gpus;                 // GPUs in the program, ascending
  // STAGE_UNITS: one layer (or the output layer) of a unit: its computes and collectives
  // of this GPU alone. Without ops when the caller said it knows the piece's times.
  struct Piece {
    int layer = -1;  // -1: the output layer
    bool backward = false;
    int sample = 0;  // the micro-batches mb with mb mod samples == sample
    bool known = false;
    std::vector<Op> ops;
  };
  std::vector<Piece> pieces;
  // STAGE_UNITS: a distinct unit, as pieces (indices into pieces), or as ops run one by one
  // (the step's last backward when it starts gradient syncs on the stream). A unit of pieces
  // may wait for collectives on the stream before some of them (the step's first forward
  // waits for the weights' all-gathers): waits holds (position in pieces, its WAIT op).
  struct Unit {
    std::vector<int> pieces;
    std::vector<Op> ops;
    std::vector<std::pair<int, Op>> waits;
  };
  std::vector<Unit> units;
  struct UnitSchedule {
    PipelineOrder order;
    int samples = 1;  // units differ between micro-batches mb only by mb mod samples
    // Identifies a piece among those of every program with the same layer shapes.
    int piece_key(int layer, bool backward, int sample) const { return ((layer + 1) * 2 + int(backward)) * samples + sample; }
    // Per ((virtual stage * 2 + backward) * samples + mb mod samples): index into units.
    std::vector<int> unit;
    // Per virtual stage: the unit of the step's last backward, when it differs (it starts
    // the overlapped gradient syncs), else -1.
    std::vector<int> last_backward;
    // Per virtual stage: the unit of the step's first forward, when it differs (it waits for
    // the weights' all-gathers), else -1.
    std::vector<int> first_forward;
    // Per virtual-stage boundary j: forward j -> j + 1, backward j + 1 -> j (into messages).
    std::vector<int> forward_message, backward_message;
    // Combined order: per pair_key, the unit of a forward and a backward run together.
    std::vector<int> pair_unit;
    // The unit of two units run together, in either order.
    int pair_unit_of(const PipelineOrder::Unit& a, const PipelineOrder::Unit& b) const {
      return pair_unit[size_t(a.backward ? pair_key(b, a) : pair_key(a, b))];
    }
    int pair_key(const PipelineOrder::Unit& f, const PipelineOrder::Unit& b) const {
      const int virtual_stages = order.pp * order.vp;
      const bool last = b.micro_batch == order.micro_batches - 1;  // it may start gradient syncs
      const bool first = f.micro_batch == 0;                       // it may wait for weights
      return (((f.virtual_stage * samples + f.micro_batch % samples) * virtual_stages + b.virtual_stage) * samples +
              b.micro_batch % samples) * 4 + int(last) + 2 * int(first);
    }
    int unit_of(const PipelineOrder::Unit& u) const {
      if (u.backward && u.micro_batch == order.micro_batches - 1 && last_backward[size_t(u.virtual_stage)] >= 0)
        return last_backward[size_t(u.virtual_stage)];
      if (!u.backward && u.micro_batch == 0 && first_forward[size_t(u.virtual_stage)] >= 0)
        return first_forward[size_t(u.virtual_stage)];
      const int sample = samples == 1 ? 0 : u.micro_batch % samples;
      return unit[size_t((u.virtual_stage * 2 + int(u.backward)) * samples + sample)];
    }
  } schedule;
  int stages = 1;
  int gpus_per_stage = 1;
  // A routed micro-batch stands in for every (micro-batch, EP replica) that was not routed
  // token by token: replica e's micro-batch m uses routed sample (m + e) mod routed.
  static int routed_sample(int micro_batch, int replica, int routed) { return (micro_batch + replica) % routed; }
};

// known_pieces (STAGE_UNITS only): per piece_key, whether the engine already holds the times of
// that piece from an earlier program whose layers had the same shapes; those are not built.
StepProgram build_step_program(const Scenario& scenario, const RoutedStep& routed, ProgramScope scope,
                               const std::vector<char>* known_pieces = nullptr);

}  // namespace moesim
