#include "sim/estimator.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "models/cost_model.hpp"
#include "sim/step_summary.hpp"

namespace moesim {

namespace {

// Closed-form durations of the program's communication.
class AnalyticTimes {
 public:
  AnalyticTimes(const Scenario& s, const StepProgram& program) : s_(s), program_(program), cost_(s.cluster, s.model.compute_dtype) {}

  double collective_s(const Collective& c) const {
    if (c.kind == CollectiveKind::ALL_TO_ALL) {
      const PortPeaks& peaks = c.reverse ? c.load->to_owners : c.load->to_experts;
      return peaks.time_s(c.bytes_per_copy, s_.cluster);
    }
    return ring_of(c.group).time_s(c.bytes);
  }

  double message_s(const Message& m) const { return cost_.transfer_s(m.bytes, scope(m.src_gpu, m.dst_gpu)); }

  // A group's ring prices, computed when its first all-reduce is timed: a plan's program
  // lists every group, the ranking times a few of them many times each (a short list
  // searched in order beats a table the size of every group, cleared for every plan).
  CostModel::RingPrices ring_of(int group) const {
    for (const auto& [g, prices] : rings_)
      if (g == group) return prices;
    const std::vector<int>& members = program_.groups[size_t(group)];
    rings_.emplace_back(group, cost_.ring_prices(int(members.size()), nodes_spanned(members)));
    return rings_.back().second;
  }

  // Distinct nodes among members; groups list them in rank order, so node ids only grow and
  // counting the changes suffices (a list out of order is sorted first).
  int nodes_spanned(const std::vector<int>& members) const {
    int nodes = 0, last = -1;
    for (int gpu : members) {
      const int node = s_.cluster.node_of(gpu);
      if (node < last) {
        std::vector<int> ids;
        for (int g : members) ids.push_back(s_.cluster.node_of(g));
        std::sort(ids.begin(), ids.end());
        return int(std::unique(ids.begin(), ids.end()) - ids.begin());
      }
      nodes += node != last;
      last = node;
    }
    return nodes;
  }

 private:
  LinkScope scope(int a, int b) const {
    return s_.cluster.node_of(a) == s_.cluster.node_of(b) ? LinkScope::INTRA_NODE : LinkScope::INTER_NODE;
  }
  const Scenario& s_;
  const StepProgram& program_;
  CostModel cost_;
  mutable std::vector<std::pair<int, CostModel::RingPrices>> rings_;  // (group, its prices), as timed
};

// Each GPU runs its ops in order on its own clock until it must wait for another GPU.
class ProgramWalker {
 public:
  // pieces: piece times known from earlier programs and kept for later ones. unit_order: an
  // order in which the stages' units can run (each after its input), from an earlier program
  // with the same pipeline order, or empty: then filled with this walk's.
  ProgramWalker(const StepProgram& program, const AnalyticTimes& times, const std::vector<char>& traced,
                PieceTimes* pieces = nullptr, std::vector<int32_t>* unit_order = nullptr)
      : program_(program), times_(times), recorder_(program, traced), pieces_(pieces ? pieces : &own_pieces_),
        unit_order_(unit_order), replays_(unit_order && !unit_order->empty()) {
    next_op_.assign(program.ops.size(), 0);
    clock_.assign(program.ops.size(), 0);
    arrivals_.resize(program.collectives.size());
    batch_posted_.assign(program.batches.size(), 0);
    batch_post_time_.assign(program.batches.size(), 0);
    batch_arrival_.assign(program.batches.size(), -1);
    batch_waiters_.assign(program.batches.size(), NO_GPU);
    ready_.assign(program.gpus.rbegin(), program.gpus.rend());
    async_end_.assign(program.collectives.size(), -1);
    async_waiters_.assign(program.collectives.size(), NO_GPU);
    next_waiter_.assign(program.ops.size(), NO_GPU);
    group_stream_free_.assign(program.groups.size(), 0);
    unit_totals_.resize(program.units.size());
    if (!program.schedule.unit.empty()) prepare_schedule(times);
  }

  void prepare_schedule(const AnalyticTimes& times) {
    const StepProgram::UnitSchedule& sched = program_.schedule;
    schedule_position_.assign(size_t(sched.order.pp), 0);
    schedule_bubble_s_.assign(size_t(sched.order.pp), 0);
    unit_end_.assign(size_t(sched.order.micro_batches) * 2 * size_t(sched.order.pp * sched.order.vp), -1);
    unit_end_waiters_.assign(unit_end_.size(), NO_GPU);
    for (int m : sched.forward_message) forward_message_s_.push_back(times.message_s(program_.messages[m]));
    for (int m : sched.backward_message) backward_message_s_.push_back(times.message_s(program_.messages[m]));
  }

  EngineRun run() && {
    while (!ready_.empty()) {
      const int gpu = ready_.back();
      ready_.pop_back();
      advance(gpu);
    }
    for (int gpu : program_.gpus)
      if (next_op_[gpu] < program_.ops[gpu].size())
        throw std::logic_error("step program deadlocks: GPU " + std::to_string(gpu) + " waits forever at op " +
                               std::to_string(next_op_[gpu]));
    record_units();
    EngineRun out;
    out.stragglers = recorder_.stragglers();
    out.timelines = std::move(recorder_).timelines();
    return out;
  }

 private:
  // Runs gpu's ops until it blocks or finishes.
  void advance(int gpu) {
    const std::vector<Op>& ops = program_.ops[gpu];
    double& clock = clock_[gpu];
    while (next_op_[gpu] < ops.size()) {
      const int index = int(next_op_[gpu]);
      const Op& op = ops[index];
      switch (op.kind) {
        case OpKind::COMPUTE:
          recorder_.record(gpu, index, op.part, clock, clock + op.seconds);
          clock += op.seconds;
          break;
        case OpKind::SEND:
          post(program_.batch_of_message[op.ref], clock);
          break;
        case OpKind::RECV: {
          const int batch = program_.batch_of_message[op.ref];
          const double arrival = batch_arrival_[batch];
          if (arrival < 0) {
            wait_in(batch_waiters_[batch], gpu);
            return;
          }
          recorder_.record(gpu, index, Part::PIPELINE_BUBBLE, clock, std::max(clock, arrival));
          clock = std::max(clock, arrival);
          break;
        }
        case OpKind::COLLECTIVE:
          ++next_op_[gpu];
          if (!arrive(gpu, index, op.ref)) return;
          continue;
        case OpKind::COLLECTIVE_START:
          start_async(gpu, index, op.ref);
          break;
        case OpKind::COLLECTIVE_WAIT:
          if (!wait_async(gpu, index, op)) {
            wait_in(async_waiters_[op.ref], gpu);
            return;
          }
          break;
        case OpKind::SCHEDULE:
          if (replays_) {
            replay_schedules();
          } else if (!run_schedule(gpu, op.ref)) {
            return;
          }
          break;
      }
      ++next_op_[gpu];
    }
  }

  // ---- STAGE_UNITS programs -------------------------------------------------------------
  // Runs the stage's units in the pipeline order from where it stopped; false when a unit's
  // input has not been sent yet. An input arrives the message time after the neighbouring
  // stage's unit ended, as a RECV after its SEND would.
  bool run_schedule(int gpu, int stage) {
    const PipelineOrder& order = program_.schedule.order;
    for (int& i = schedule_position_[stage]; i < order.units_per_stage(); ++i) {
      const bool pair = order.starts_pair(stage, i);
      for (int k = i; k <= i + int(pair); ++k) {
        const PipelineOrder::Unit u = order.at(stage, k);
        if (has_input(u) && unit_end_[input_slot(u)] < 0) {
          wait_in(unit_end_waiters_[input_slot(u)], gpu);
          return false;
        }
      }
      run_position(gpu, stage, i);
      if (unit_order_) unit_order_->push_back(stage + order.pp * i);  // recording (replays_ is false)
      i += int(pair);
    }
    return true;
  }

  // Runs every stage's units in an order known to respect their inputs. Before its SCHEDULE
  // op a stage only starts collectives on the stream (the weights' all-gathers), which
  // nothing delays, so every stage's can start and all units run from the first SCHEDULE
  // reached.
  void replay_schedules() {
    const StepProgram::UnitSchedule& sched = program_.schedule;
    if (schedule_position_[0] == sched.order.units_per_stage()) return;  // done already
    for (int stage = 0; stage < sched.order.pp; ++stage) {
      const int gpu = stage * program_.gpus_per_stage;
      const std::vector<Op>& ops = program_.ops[gpu];
      for (; next_op_[gpu] < ops.size() && ops[next_op_[gpu]].kind == OpKind::COLLECTIVE_START; ++next_op_[gpu])
        start_async(gpu, int(next_op_[gpu]), ops[next_op_[gpu]].ref);
    }
    for (const int32_t entry : *unit_order_) {
      const int stage = entry % sched.order.pp, i = entry / sched.order.pp;
      run_position(stage * program_.gpus_per_stage, stage, i);
    }
    std::fill(schedule_position_.begin(), schedule_position_.end(), sched.order.units_per_stage());
  }

  // Runs the stage's i-th unit (with the next, when they are a pair) once its inputs are there
  // (an input arrives the message time after the neighbouring stage's unit ended, as a RECV
  // after its SEND would), and wakes whoever waits for its outputs.
  void run_position(int gpu, int stage, int i) {
    const StepProgram::UnitSchedule& sched = program_.schedule;
    const PipelineOrder::Unit u = sched.order.at(stage, i);
    double& clock = clock_[size_t(gpu)];
    if (!sched.order.starts_pair(stage, i)) {
      wait_for_input(stage, u, clock);
      run_unit(gpu, sched.unit_of(u));
      wake(unit_end_waiters_[mark_end(u, clock)]);
      return;
    }
    const PipelineOrder::Unit v = sched.order.at(stage, i + 1);
    wait_for_input(stage, u, clock);
    wait_for_input(stage, v, clock);
    run_unit(gpu, sched.pair_unit_of(u, v));
    wake(unit_end_waiters_[mark_end(u, clock)]);
    wake(unit_end_waiters_[mark_end(v, clock)]);
  }

  bool has_input(const PipelineOrder::Unit& u) const {
    const PipelineOrder& order = program_.schedule.order;
    return u.backward ? u.virtual_stage < order.pp * order.vp - 1 : u.virtual_stage > 0;
  }

  void wait_for_input(int stage, const PipelineOrder::Unit& u, double& clock) {
    if (!has_input(u)) return;
    const int j = u.virtual_stage;
    const double arrival = unit_end_[input_slot(u)] + (u.backward ? backward_message_s_[j] : forward_message_s_[j - 1]);
    if (arrival > clock) {
      schedule_bubble_s_[size_t(stage)] += arrival - clock;
      clock = arrival;
    }
  }

  size_t mark_end(const PipelineOrder::Unit& u, double clock) {
    const size_t slot = end_slot(u.backward, u.virtual_stage, u.micro_batch);
    unit_end_[slot] = clock;
    return slot;
  }

  size_t input_slot(const PipelineOrder::Unit& u) const {
    return end_slot(u.backward, u.backward ? u.virtual_stage + 1 : u.virtual_stage - 1, u.micro_batch);
  }

  size_t end_slot(bool backward, int virtual_stage, int micro_batch) const {
    const PipelineOrder& order = program_.schedule.order;
    // A unit's input comes from the neighbouring virtual stage, same micro-batch: next door.
    return (size_t(micro_batch) * 2 + size_t(backward)) * size_t(order.pp * order.vp) + size_t(virtual_stage);
  }

  // Waits for a collective on the stream; false if it has not started yet.
  bool wait_async(int gpu, int index, const Op& op) {
    const double end = async_end_[op.ref];
    if (end < 0) return false;
    double& clock = clock_[gpu];
    recorder_.record(gpu, index, program_.collectives[op.ref].part, clock, std::max(clock, end));
    clock = std::max(clock, end);
    return true;
  }

  // A piece's ops run back to back on one GPU: its computes, and collectives whose only
  // member in the program is that GPU, each starting after the group's absent lag (as
  // arrive() times them). Summed once (or known from an earlier program); a unit sums its
  // pieces once and counts its runs. A unit of ops (it starts collectives on the stream)
  // runs op by op, as advance() would run it.
  // A unit of ops that waits for every collective it starts (a pair of the combined order)
  // is timed once the same way.
  struct UnitTotal {
    bool checked = false, walks_ops = false;  // walks_ops: a unit of ops that leaves collectives running
    bool summed = false;
    double seconds = 0;
    PartSeconds part_s{};
    std::vector<PieceTime::Straggler> stragglers;  // a unit of ops' own
    int gpu = -1, runs = 0;  // a unit runs on one GPU only: its stage's
  };

  void run_unit(int gpu, int unit) {
    const StepProgram::Unit& u = program_.units[unit];
    UnitTotal& known = unit_totals_[unit];
    if (!known.checked) known.checked = true, known.walks_ops = !u.ops.empty() && !waits_for_all_it_starts(u.ops);
    if (!known.walks_ops) {
      UnitTotal& total = unit_total(gpu, unit);
      if (u.waits.empty()) {
        clock_[gpu] += total.seconds;
      } else {
        run_pieces_with_waits(gpu, u);
      }
      total.gpu = gpu;
      ++total.runs;
      return;
    }
    for (int index = 0; index < int(u.ops.size()); ++index) {
      const Op& op = u.ops[index];
      if (op.kind == OpKind::COMPUTE) {
        recorder_.record(gpu, index, op.part, clock_[gpu], clock_[gpu] + op.seconds);
        clock_[gpu] += op.seconds;
      } else if (op.kind == OpKind::COLLECTIVE_START) {
        start_async(gpu, index, op.ref);
      } else if (op.kind == OpKind::COLLECTIVE_WAIT ? !wait_async(gpu, index, op) : !arrive(gpu, index, op.ref)) {
        throw std::logic_error("a unit's collective waits for a GPU outside it");
      }
    }
  }

  // A unit of pieces that waits for stream collectives before some: each wait as an op (it
  // records its own part), each piece's time as summed in the unit's total.
  void run_pieces_with_waits(int gpu, const StepProgram::Unit& u) {
    size_t next_wait = 0;
    for (int k = 0; k < int(u.pieces.size()); ++k) {
      for (; next_wait < u.waits.size() && u.waits[next_wait].first == k; ++next_wait)
        if (!wait_async(gpu, -1, u.waits[next_wait].second))
          throw std::logic_error("a unit waits for a collective that has not started");
      for (double seconds : piece_time(gpu, u.pieces[size_t(k)]).part_s) clock_[gpu] += seconds;
    }
  }

  static bool waits_for_all_it_starts(const std::vector<Op>& ops) {
    int open = 0;
    for (const Op& op : ops) open += op.kind == OpKind::COLLECTIVE_START ? 1 : op.kind == OpKind::COLLECTIVE_WAIT ? -1 : 0;
    return open == 0;
  }

  UnitTotal& unit_total(int gpu, int unit) {
    UnitTotal& total = unit_totals_[unit];
    if (total.summed) return total;
    total.summed = true;
    const StepProgram::Unit& u = program_.units[unit];
    if (!u.ops.empty()) {
      PieceTime time = piece_time_of(gpu, u.ops);
      total.part_s = time.part_s;
      total.stragglers = std::move(time.stragglers);
    }
    for (int piece : u.pieces) {
      const PieceTime& time = piece_time(gpu, piece);
      for (size_t part = 0; part < PART_COUNT; ++part) total.part_s[part] += time.part_s[part];
    }
    for (double seconds : total.part_s) total.seconds += seconds;
    return total;
  }

  const PieceTime& piece_time(int gpu, int piece) {
    const StepProgram::Piece& p = program_.pieces[piece];
    const size_t key = size_t(program_.schedule.piece_key(p.layer, p.backward, p.sample));
    if (key >= pieces_->times.size()) pieces_->times.resize(key + 1), pieces_->known.resize(key + 1, 0);
    PieceTime& time = pieces_->times[key];
    if (p.known) {
      if (!pieces_->known[key]) throw std::logic_error("a piece was left unbuilt but its times are not known");
      return time;
    }
    time = piece_time_of(gpu, p.ops);
    pieces_->known[key] = 1;
    return time;
  }

  // A piece on a clock of its own, from 0, as advance() would run it. Collectives it starts
  // on the stream it also waits for, so the stream is free when it begins.
  PieceTime piece_time_of(int gpu, const std::vector<Op>& ops) const {
    PieceTime time;
    double t = 0;
    std::vector<std::pair<int, double>> stream_free, ends;  // per group, per collective started
    const auto find = [](std::vector<std::pair<int, double>>& v, int key) -> double& {
      for (auto& [k, value] : v)
        if (k == key) return value;
      return v.emplace_back(key, 0).second;
    };
    for (const Op& op : ops) {
      if (op.kind == OpKind::COMPUTE) {
        time.part_s[size_t(op.part)] += op.seconds;
        t += op.seconds;
        continue;
      }
      const Collective& c = program_.collectives[op.ref];
      if (c.participants != 1) throw std::logic_error("a piece holds only collectives of one GPU");
      if (op.kind == OpKind::COLLECTIVE) {
        time.part_s[size_t(Part::STRAGGLER_WAIT)] += c.absent_lag_s;
        time.part_s[size_t(c.part)] += times_.collective_s(c);
        t += c.absent_lag_s + times_.collective_s(c);
      } else if (op.kind == OpKind::COLLECTIVE_START) {
        double& free = find(stream_free, c.group);
        free = find(ends, op.ref) = std::max(t + c.absent_lag_s, free) + times_.collective_s(c);
      } else if (op.kind == OpKind::COLLECTIVE_WAIT) {
        const auto started = std::find_if(ends.begin(), ends.end(), [&](const auto& e) { return e.first == op.ref; });
        if (started == ends.end()) throw std::logic_error("a piece waits for a collective it did not start");
        if (started->second > t) time.part_s[size_t(c.part)] += started->second - t, t = started->second;
      } else {
        throw std::logic_error("a piece holds computes and collectives only");
      }
      if (op.kind != OpKind::COLLECTIVE_WAIT && c.absent_straggler_gpu >= 0 && TimelineRecorder::holds_stragglers(c))
        time.stragglers.push_back({c.layer, c.absent_straggler_gpu - gpu, c.absent_straggler_lateness_s});
    }
    return time;
  }

  // Units add up once the walk is done: their runs times their parts, and their pieces'
  // stragglers once per run.
  void record_units() {
    for (size_t stage = 0; stage < schedule_bubble_s_.size(); ++stage) {
      const int gpu = int(stage) * program_.gpus_per_stage;
      PartSeconds bubble{};
      bubble[size_t(Part::PIPELINE_BUBBLE)] = schedule_bubble_s_[stage];
      recorder_.record_unit(gpu, bubble, clock_[size_t(gpu)]);
    }
    for (size_t unit = 0; unit < unit_totals_.size(); ++unit) {
      const UnitTotal& total = unit_totals_[unit];
      if (total.runs == 0) continue;
      PartSeconds part_s;
      for (size_t part = 0; part < PART_COUNT; ++part) part_s[part] = total.runs * total.part_s[part];
      recorder_.record_unit(total.gpu, part_s, clock_[total.gpu]);
      for (const PieceTime::Straggler& s : total.stragglers)
        recorder_.note_straggler(s.layer, total.gpu + s.gpu_offset, s.lateness_s, total.runs);
      for (int piece : program_.units[unit].pieces) {
        const StepProgram::Piece& p = program_.pieces[piece];
        for (const PieceTime::Straggler& s : pieces_->times[size_t(program_.schedule.piece_key(p.layer, p.backward, p.sample))].stragglers)
          recorder_.note_straggler(s.layer, total.gpu + s.gpu_offset, s.lateness_s, total.runs);
      }
    }
  }

  // A blocked GPU waits for one thing: the GPUs waiting for the same thing form a list
  // through next_waiter_, from its head.
  void wait_in(int& head, int gpu) {
    next_waiter_[gpu] = head;
    head = gpu;
  }
  void wake(int& head) {
    for (int gpu = head; gpu != NO_GPU; gpu = next_waiter_[gpu]) ready_.push_back(gpu);
    head = NO_GPU;
  }

  // The last sender of a batch sends it; its messages arrive together.
  void post(int batch, double clock) {
    batch_post_time_[batch] = std::max(batch_post_time_[batch], clock);
    const MessageBatch& b = program_.batches[batch];
    if (++batch_posted_[batch] < b.participants) return;
    double transfer = 0;
    for (int m = b.first_message; m < b.first_message + b.messages; ++m)
      transfer = std::max(transfer, times_.message_s(program_.messages[m]));
    batch_arrival_[batch] = batch_post_time_[batch] + transfer;
    wake(batch_waiters_[batch]);
  }

  // Notes gpu's arrival at a collective; true once every member in the program has arrived.
  bool all_arrived(int gpu, int op, int collective) {
    arrivals_[collective].push_back({gpu, op, clock_[gpu]});
    return int(arrivals_[collective].size()) >= program_.collectives[collective].participants;
  }

  static double latest_arrival_s(const std::vector<TimelineRecorder::Arrival>& arrivals, double not_before_s) {
    for (const auto& a : arrivals) not_before_s = std::max(not_before_s, a.time_s);
    return not_before_s;
  }

  // A collective on the communication stream runs from its last member's start; the
  // members go on computing meanwhile.
  void start_async(int gpu, int op, int collective) {
    if (!all_arrived(gpu, op, collective)) return;
    auto& arrivals = arrivals_[collective];
    const Collective& c = program_.collectives[collective];
    // A group's collectives on the stream run one after another; absent members (the
    // slowest expert's GPU) arrive absent_lag_s after the last one in the program.
    const double start = std::max(latest_arrival_s(arrivals, 0) + c.absent_lag_s, group_stream_free_[c.group]);
    async_end_[collective] = group_stream_free_[c.group] = start + times_.collective_s(c);
    recorder_.note_arrivals(collective, arrivals);
    wake(async_waiters_[collective]);
    arrivals.clear();
    arrivals.shrink_to_fit();
  }

  // Returns whether the collective completed (then all its members' clocks moved on).
  bool arrive(int gpu, int op, int collective) {
    if (!all_arrived(gpu, op, collective)) return false;
    auto& arrivals = arrivals_[collective];
    const Collective& c = program_.collectives[collective];
    const double start = latest_arrival_s(arrivals, 0) + c.absent_lag_s;
    const double end = start + times_.collective_s(c);
    recorder_.collective_started(collective, arrivals, start);
    for (const auto& a : arrivals) {
      recorder_.record(a.gpu, a.op, c.part, start, end);
      clock_[a.gpu] = end;
      if (a.gpu != gpu) ready_.push_back(a.gpu);
    }
    arrivals.clear();
    arrivals.shrink_to_fit();
    return true;
  }

  const StepProgram& program_;
  const AnalyticTimes& times_;
  TimelineRecorder recorder_;
  std::vector<size_t> next_op_;
  std::vector<double> clock_;
  std::vector<std::vector<TimelineRecorder::Arrival>> arrivals_;
  std::vector<int> batch_posted_;
  std::vector<double> batch_post_time_;
  std::vector<double> batch_arrival_;
  static constexpr int NO_GPU = -1;
  std::vector<int> batch_waiters_;  // per message batch: the first GPU waiting for it
  std::vector<int> next_waiter_;    // per GPU: the next GPU waiting for the same thing
  std::vector<int> ready_;
  std::vector<double> async_end_;  // per collective on the communication stream: when it ends
  std::vector<int> async_waiters_;  // per collective on the stream: the first GPU waiting for it
  std::vector<double> group_stream_free_;  // per group: when its last stream collective ends
  // STAGE_UNITS programs
  PieceTimes own_pieces_;
  PieceTimes* pieces_;                        // the times of the pieces folded so far
  std::vector<int32_t>* unit_order_;          // stage + pp * position, in the order units ran
  bool replays_;                              // unit_order_ came filled: run the units in it
  std::vector<UnitTotal> unit_totals_;        // per unit
  std::vector<int> schedule_position_;        // per stage: its next unit in the order
  std::vector<double> schedule_bubble_s_;     // per stage: waiting for its units' inputs
  std::vector<double> unit_end_;              // per end_slot: when that unit ended, -1 before
  std::vector<int> unit_end_waiters_;         // per end_slot: the first GPU waiting for it
  std::vector<double> forward_message_s_, backward_message_s_;  // per virtual-stage boundary
};

}  // namespace

EngineRun run_analytic(const Scenario& scenario, const Topology&, const StepProgram& program,
                       const std::vector<char>& traced) {
  const AnalyticTimes times(scenario, program);
  return ProgramWalker(program, times, traced).run();
}

namespace {

// Ranks a plan: its program of units (pieces in `pieces` not built), walked (in unit_order
// when that is not empty).
StepResult estimate_with(const Scenario& scenario, const RoutedStep& routed, PieceTimes& pieces,
                         std::vector<int32_t>* unit_order = nullptr) {
  const StepProgram program = build_step_program(scenario, routed, ProgramScope::STAGE_UNITS, &pieces.known);
  const AnalyticTimes times(scenario, program);
  EngineRun run = ProgramWalker(program, times, std::vector<char>(program.ops.size(), 0), &pieces, unit_order).run();
  return summarize_step(scenario, routed, run.timelines, std::move(run.stragglers));
}

}  // namespace

StepResult estimate_step(const Scenario& scenario, const Topology&, const RoutedStep& routed) {
  PieceTimes pieces;
  return estimate_with(scenario, routed, pieces);
}

namespace {
// How the layers are cut into model chunks: pp, vp and the layout if one is given.
std::string chunks_key(const ParallelPlan& plan) {
  std::string key = " chunks " + std::to_string(plan.pp) + " " + std::to_string(plan.vp);
  for (int layers : plan.pipeline_layout) key += " " + std::to_string(layers);
  return key;
}
// What else shapes a layer's pieces: the recomputed modules and the parts captured in graphs.
std::string recompute_and_graphs_key(const ParallelPlan& plan) {
  std::string key;
  if (plan.recompute == "selective")
    for (const std::string& module : plan.recompute_modules) key += module + ",";
  key += "|";
  for (const std::string& part : plan.cuda_graph_scope) key += part + ",";
  return key + " ";
}
}  // namespace

PlanEstimator::PlanEstimator(Scenario base, const RoutedStep& routed) : base_(std::move(base)), routed_(routed) {}

StepResult PlanEstimator::estimate(const ParallelPlan& plan) {
  base_.plan = plan;
  // What a layer's pieces depend on besides the fixed scenario and routing: the layer shapes
  // on a GPU, how it overlaps shared experts, and whether a TP group and a CP ring span nodes
  // (their links).
  const bool tp_in_node = base_.cluster.node_of(0) == base_.cluster.node_of(plan.tp - 1);
  const bool cp_in_node = base_.cluster.node_of(0) == base_.cluster.node_of(plan.tp * plan.cp - 1);
  const std::string shape = std::to_string(plan.tp) + " " + std::to_string(plan.cp) + " " + std::to_string(cp_in_node) +
                            " " + std::to_string(plan.ep) + " " + std::to_string(plan.etp) +
                            " " + std::to_string(plan.micro_batch_size) + " " + std::to_string(plan.seq_len) + " " +
                            plan.recompute + " " + std::to_string(plan.recompute_layers) + " " +
                            recompute_and_graphs_key(plan) +
                            std::to_string(plan.overlap_shared_experts) + " " +
                            std::to_string(plan.ep_comm_sms) + " " + std::to_string(tp_in_node) +
                            // FSDP's per-layer transfers: their groups' sizes follow dp
                            (plan.fsdp ? " fsdp " + std::to_string(plan.dp) : "") +
                            // which pieces open a unit (FSDP) or recompute (the first N of a
                            // chunk) follows how the layers are cut into chunks
                            (plan.fsdp || plan.recompute_layers > 0 ? chunks_key(plan) : "");
  // Which unit waits for which depends only on the pipeline order.
  std::vector<int32_t>& order = unit_order_by_pipeline_[{plan.pp, plan.vp, plan.micro_batches, int(plan.overlap_ep_comm)}];
  return estimate_with(base_, routed_, pieces_by_shape_[shape], &order);
}

}  // namespace moesim
