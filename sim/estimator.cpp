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
    const std::vector<int>& members = program_.groups[c.group];
    return cost_.ring_allreduce_s(c.bytes, int(members.size()), scope(members.front(), members.back()));
  }

  double message_s(const Message& m) const { return cost_.transfer_s(m.bytes, scope(m.src_gpu, m.dst_gpu)); }

 private:
  LinkScope scope(int a, int b) const {
    return s_.cluster.node_of(a) == s_.cluster.node_of(b) ? LinkScope::INTRA_NODE : LinkScope::INTER_NODE;
  }
  const Scenario& s_;
  const StepProgram& program_;
  CostModel cost_;
};

// Each GPU runs its ops in order on its own clock until it must wait for another GPU.
class ProgramWalker {
 public:
  ProgramWalker(const StepProgram& program, const AnalyticTimes& times, const std::vector<char>& traced)
      : program_(program), times_(times), recorder_(program, traced) {
    next_op_.assign(program.ops.size(), 0);
    clock_.assign(program.ops.size(), 0);
    arrivals_.resize(program.collectives.size());
    batch_posted_.assign(program.batches.size(), 0);
    batch_post_time_.assign(program.batches.size(), 0);
    batch_arrival_.assign(program.batches.size(), -1);
    batch_waiters_.resize(program.batches.size());
    ready_.assign(program.gpus.rbegin(), program.gpus.rend());
    async_end_.assign(program.collectives.size(), -1);
    async_waiters_.resize(program.collectives.size());
    group_stream_free_.assign(program.groups.size(), 0);
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
            batch_waiters_[batch].push_back(gpu);
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
        case OpKind::COLLECTIVE_WAIT: {
          const double end = async_end_[op.ref];
          if (end < 0) {
            async_waiters_[op.ref].push_back(gpu);
            return;
          }
          recorder_.record(gpu, index, program_.collectives[op.ref].part, clock, std::max(clock, end));
          clock = std::max(clock, end);
          break;
        }
      }
      ++next_op_[gpu];
    }
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
    for (int waiter : batch_waiters_[batch]) ready_.push_back(waiter);
    batch_waiters_[batch].clear();
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
    // A group's collectives on the stream run one after another.
    const double start = latest_arrival_s(arrivals, group_stream_free_[c.group]);
    async_end_[collective] = group_stream_free_[c.group] = start + times_.collective_s(c);
    for (int waiter : async_waiters_[collective]) ready_.push_back(waiter);
    async_waiters_[collective].clear();
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
  std::vector<std::vector<int>> batch_waiters_;
  std::vector<int> ready_;
  std::vector<double> async_end_;  // per collective on the communication stream: when it ends
  std::vector<std::vector<int>> async_waiters_;
  std::vector<double> group_stream_free_;  // per group: when its last stream collective ends
};

}  // namespace

EngineRun run_analytic(const Scenario& scenario, const Topology&, const StepProgram& program,
                       const std::vector<char>& traced) {
  const AnalyticTimes times(scenario, program);
  return ProgramWalker(program, times, traced).run();
}

StepResult estimate_step(const Scenario& scenario, const Topology& topology, const RoutedStep& routed) {
  const StepProgram program = build_step_program(scenario, routed, ProgramScope::ONE_GPU_PER_STAGE);
  EngineRun run = run_analytic(scenario, topology, program, std::vector<char>(program.ops.size(), 0));
  return summarize_step(scenario, routed, run.timelines, std::move(run.stragglers));
}

}  // namespace moesim
