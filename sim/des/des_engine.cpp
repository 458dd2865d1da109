#include "sim/des/des_engine.hpp"

#include "sim/progress.hpp"

#include <simgrid/kernel/Timer.hpp>
#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/simix.hpp>
#include <simgrid/s4u/Exec.hpp>
#include <simgrid/s4u/Host.hpp>
#include <simgrid/s4u/Semaphore.hpp>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <limits>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <tuple>
#include <stdexcept>

#include "sim/des/collectives.hpp"
#include "sim/limits.hpp"
#include "sim/des/platform.hpp"
#include "sim/des/wire.hpp"

namespace moesim {

namespace sg4 = simgrid::s4u;

namespace {

// How the simulation process says which limit stopped it.
constexpr int EXIT_WALL_LIMIT = 5, EXIT_MEMORY_LIMIT = 6;

// Bytes each link carried and the rate intervals from which its peak follows.
class LinkMeter {
 public:
  explicit LinkMeter(size_t links) : bytes_(links, 0), events_(links) {}

  // `bytes_by_link` moved over [start, end] by one transfer group.
  void add(const std::vector<std::pair<int, double>>& bytes_by_link, double start_s, double end_s) {
    for (const auto& [link, bytes] : bytes_by_link) {
      bytes_[link] += bytes;
      if (end_s <= start_s) continue;
      const double rate = bytes / (end_s - start_s);
      events_[link].push_back({start_s, rate});
      events_[link].push_back({end_s, -rate});
    }
  }

  std::vector<LinkUsage> usage(const Platform& platform, double step_s) {
    std::vector<LinkUsage> out;
    for (size_t link = 0; link < bytes_.size(); ++link) {
      if (bytes_[link] <= 0) continue;
      const PlatformLink& l = platform.links()[link];
      // Group averages of transfers that overlapped can add up to a little more than the
      // link ever carried at one instant; no link carries more than its bandwidth.
      out.push_back({l.name, l.bandwidth_Bps, bytes_[link] / (l.bandwidth_Bps * step_s),
                     std::min(1.0, peak_rate(events_[link]) / l.bandwidth_Bps)});
    }
    return out;
  }

 private:
  // The highest sum of group-average rates in flight at once: a transfer group's rate is
  // taken as constant over its lifetime (the mean of what max-min sharing gave it).
  static double peak_rate(std::vector<std::pair<double, double>>& events) {
    std::sort(events.begin(), events.end());
    double rate = 0, peak = 0;
    for (const auto& [time, delta] : events) peak = std::max(peak, rate += delta);
    return peak;
  }
  std::vector<double> bytes_;
  std::vector<std::vector<std::pair<double, double>>> events_;
};

class DesSimulation {
 public:
  DesSimulation(const Scenario& s, const Topology& topology, const StepProgram& program, const std::vector<char>& traced,
                double wall_limit_s)
      : s_(s),
        program_(program),
        platform_(topology),
        recorder_(program, traced),
        meter_(platform_.links().size()),
        collectives_(program.collectives.size()),
        batches_(program.batches.size()),
        slot_of_gpu_(program.ops.size(), -1),
        wall_limit_s_(wall_limit_s),
        memory_limit_bytes_(memory_limit_bytes(s)) {
    all_to_all_ = all_to_all_algorithms().find(s.sim.all_to_all);
    per_pair_ = s.sim.transfers == "per_pair";
    for (int gpu : program.gpus) total_ops_ += program.ops[gpu].size();
  }

  EngineRun run() {
    for (int gpu : program_.gpus)
      sg4::Actor::create("gpu" + std::to_string(gpu), platform_.host(gpu), [this, gpu] { run_gpu(gpu); });
    started_ = std::chrono::steady_clock::now();
    platform_.run();
    if (done_ops_ != total_ops_)
      throw std::logic_error("the step program deadlocked in the discrete-event engine: " + std::to_string(done_ops_) +
                             " of " + std::to_string(total_ops_) + " ops ran");
    if (show_progress_) std::cerr << "\r" << std::string(70, ' ') << "\r";
    EngineRun out;
    out.stragglers = recorder_.stragglers();
    out.timelines = std::move(recorder_).timelines();
    double step_s = 0;
    for (const GpuTimeline& t : out.timelines) step_s = std::max(step_s, t.end_s);
    out.links = meter_.usage(platform_, step_s);
    return out;
  }

 private:
  struct CollectiveState {
    std::vector<TimelineRecorder::Arrival> arrivals;
    sg4::SemaphorePtr done;
    bool finished = false;  // communication-stream collectives: it has ended
    int waiting = 0;        // members blocked in its wait
  };
  struct BatchState {
    int posted = 0;
    sg4::SemaphorePtr arrived = sg4::Semaphore::create(0);  // released once per message
  };

  void run_gpu(int gpu) {
    const std::vector<Op>& ops = program_.ops[gpu];
    for (size_t i = 0; i < ops.size();) {
      const Op& op = ops[i];
      switch (op.kind) {
        case OpKind::COMPUTE: i = compute_run(gpu, i); continue;
        case OpKind::SEND: send(op); break;
        case OpKind::RECV: recv(gpu, int(i), op); break;
        case OpKind::COLLECTIVE: collective(gpu, int(i), op); break;
        case OpKind::COLLECTIVE_START: start_async(gpu, int(i), op); break;
        case OpKind::COLLECTIVE_WAIT: wait_async(gpu, int(i), op); break;
        case OpKind::SCHEDULE: throw std::logic_error("the discrete-event engine runs ALL_GPUS programs, not schedules of units");
      }
      op_done(1);
      ++i;
    }
  }

  // Compute occupies only its own GPU, so it needs no share of any resource: the actor
  // suspends until a kernel timer resumes it. (A SimGrid sleep or execution would be one
  // more action in the max-min system, re-examined at every event: with 2048 GPUs computing
  // at once that was most of the engine's time.)
  static void wait_for(double seconds) {
    sg4::Actor* self = sg4::Actor::self();
    simgrid::kernel::actor::simcall_answered([self, seconds] {
      simgrid::kernel::timer::Timer::set(sg4::Engine::get_clock() + seconds, [self] { self->resume(); });
    });
    sg4::this_actor::suspend();
  }

  // Consecutive compute ops run as one timed wait; their spans follow from their durations.
  size_t compute_run(int gpu, size_t first) {
    const std::vector<Op>& ops = program_.ops[gpu];
    size_t last = first;
    double seconds = 0;
    while (last < ops.size() && ops[last].kind == OpKind::COMPUTE) seconds += ops[last++].seconds;
    double t = Platform::now_s();
    if (seconds > 0) wait_for(seconds);
    for (size_t i = first; i < last; ++i) {
      recorder_.record(gpu, int(i), ops[i].part, t, t + ops[i].seconds);
      t += ops[i].seconds;
    }
    op_done(last - first);
    return last;
  }

  // The last sender of a batch hands it to a courier actor, which moves it and tells the
  // receivers; senders never wait.
  void send(const Op& op) {
    const int batch = program_.batch_of_message[op.ref];
    const MessageBatch& b = program_.batches[batch];
    if (++batches_[batch].posted < b.participants) return;
    std::vector<Transfer> transfers;
    for (int m = b.first_message; m < b.first_message + b.messages; ++m)
      transfers.push_back({program_.messages[m].src_gpu, program_.messages[m].dst_gpu, program_.messages[m].bytes});
    sg4::Actor::create("pipeline", platform_.host(transfers.front().src_gpu), [this, batch, transfers] {
      execute(prepare({Phase{transfers, 0}}));
      for (size_t i = 0; i < transfers.size(); ++i) batches_[batch].arrived->release();
    });
  }

  void recv(int gpu, int index, const Op& op) {
    const double arrived = Platform::now_s();
    batches_[program_.batch_of_message[op.ref]].arrived->acquire();
    recorder_.record(gpu, index, Part::PIPELINE_BUBBLE, arrived, Platform::now_s());
  }

  void collective(int gpu, int index, const Op& op) {
    CollectiveState& state = collectives_[op.ref];
    state.arrivals.push_back({gpu, index, Platform::now_s()});
    const Collective& c = program_.collectives[op.ref];
    if (int(state.arrivals.size()) < c.participants) {
      if (!state.done) state.done = sg4::Semaphore::create(0);
      auto done = state.done;  // `state` is reset by the last member
      done->acquire();
      return;
    }
    // The last member runs the collective for all.
    const double start = Platform::now_s();
    recorder_.collective_started(op.ref, state.arrivals, start);
    execute(prepared(c));
    const double end = Platform::now_s();
    for (const auto& a : state.arrivals) recorder_.record(a.gpu, a.op, c.part, start, end);
    const auto done = state.done;
    const size_t waiting = state.arrivals.size() - 1;
    state = CollectiveState{};
    for (size_t i = 0; i < waiting; ++i) done->release();
  }

  // A collective on the communication stream: the last member to start it hands it to a
  // courier actor and goes on, as the others did; waiting members block until it ends.
  void start_async(int gpu, int index, const Op& op) {
    CollectiveState& state = collectives_[op.ref];
    state.arrivals.push_back({gpu, index, Platform::now_s()});
    if (!state.done) state.done = sg4::Semaphore::create(0);
    if (int(state.arrivals.size()) < program_.collectives[op.ref].participants) return;
    recorder_.note_arrivals(op.ref, state.arrivals);
    const int ref = op.ref;
    sg4::Actor::create("async_collective", platform_.host(gpu), [this, ref] {
      execute(prepared(program_.collectives[ref]));
      CollectiveState& s = collectives_[ref];
      s.finished = true;
      for (int i = 0; i < s.waiting; ++i) s.done->release();
    });
  }

  void wait_async(int gpu, int index, const Op& op) {
    CollectiveState& state = collectives_[op.ref];
    const double t = Platform::now_s();
    if (!state.finished) {
      ++state.waiting;
      auto done = state.done;
      done->acquire();
    }
    recorder_.record(gpu, index, program_.collectives[op.ref].part, t, Platform::now_s());
  }

  std::vector<Phase> phases(const Collective& c) const {
    const std::vector<int>& members = program_.groups[c.group];
    if (c.kind == CollectiveKind::ALL_REDUCE) return ring_all_reduce(members, c.bytes, s_.cluster);
    const size_t n = members.size();
    std::vector<double> bytes(n * n, 0);
    for (size_t i = 0; i < n; ++i)
      for (size_t j = 0; j < n; ++j) {
        const size_t from = c.reverse ? j : i, to = c.reverse ? i : j;
        bytes[from * n + to] = c.load->pair_copies[i * n + j] * c.bytes_per_copy;
      }
    return (*all_to_all_)(members, bytes, s_.cluster);
  }

  // ---- the collective executor ----------------------------------------------------------
  // A phase ready to run: its parallel tasks (hosts, bytes between them) and the bytes each
  // task puts on each link. Collectives with the same traffic share one preparation.
  struct Task {
    std::vector<sg4::Host*> hosts;
    std::vector<double> bytes;  // hosts x hosts
    std::vector<std::pair<int, double>> link_bytes;
  };
  struct PreparedPhase {
    std::vector<Task> tasks;
    double extra_latency_s = 0;
  };
  using Prepared = std::vector<PreparedPhase>;

  const Prepared& prepared(const Collective& c) {
    const auto key = std::make_tuple(static_cast<const void*>(c.load), c.bytes_per_copy, c.reverse, c.group, c.bytes);
    auto [it, inserted] = prepared_.try_emplace(key);
    if (inserted) it->second = prepare(phases(c));
    return it->second;
  }

  Prepared prepare(const std::vector<Phase>& phases) {
    Prepared out;
    for (const Phase& phase : phases) {
      PreparedPhase p{{}, phase.extra_latency_s};
      for (const auto& transfers : group_transfers(phase)) p.tasks.push_back(make_task(transfers));
      out.push_back(std::move(p));
    }
    return out;
  }

  void execute(const Prepared& phases) {
    for (const PreparedPhase& phase : phases) {
      std::vector<sg4::ExecPtr> running;
      for (const Task& task : phase.tasks) {
        running.push_back(sg4::this_actor::exec_init(task.hosts, std::vector<double>(task.hosts.size(), 0), task.bytes));
        running.back()->start();
      }
      for (size_t i = 0; i < running.size(); ++i) {
        running[i]->wait();
        meter_.add(phase.tasks[i].link_bytes, running[i]->get_start_time(), running[i]->get_finish_time());
      }
      if (phase.extra_latency_s > 0) sg4::this_actor::sleep_for(phase.extra_latency_s);
    }
  }

  // Grouped: one parallel task for the phase's NVLink transfers and one per source rail for
  // the rest (each progresses at the pace of its busiest link). Per pair: one task each.
  std::vector<std::vector<Transfer>> group_transfers(const Phase& phase) const {
    if (per_pair_) {
      std::vector<std::vector<Transfer>> out;
      for (const Transfer& t : phase.transfers) out.push_back({t});
      return out;
    }
    const int gpn = s_.cluster.gpus_per_node;
    std::vector<std::vector<Transfer>> by_rail(gpn + 1);
    for (const Transfer& t : phase.transfers) {
      const bool intra = s_.cluster.node_of(t.src_gpu) == s_.cluster.node_of(t.dst_gpu);
      by_rail[intra ? gpn : t.src_gpu % gpn].push_back(t);
    }
    std::vector<std::vector<Transfer>> out;
    for (auto& g : by_rail)
      if (!g.empty()) out.push_back(std::move(g));
    return out;
  }

  Task make_task(const std::vector<Transfer>& transfers) {
    Task task;
    for (const Transfer& t : transfers)
      for (int gpu : {t.src_gpu, t.dst_gpu})
        if (slot_of_gpu_[gpu] < 0) {
          slot_of_gpu_[gpu] = int(task.hosts.size());
          task.hosts.push_back(platform_.host(gpu));
        }
    const size_t h = task.hosts.size();
    task.bytes.assign(h * h, 0);
    for (const Transfer& t : transfers) task.bytes[slot_of_gpu_[t.src_gpu] * h + slot_of_gpu_[t.dst_gpu]] += t.bytes;
    for (const Transfer& t : transfers) slot_of_gpu_[t.src_gpu] = slot_of_gpu_[t.dst_gpu] = -1;
    task.link_bytes = group_link_bytes(transfers);
    return task;
  }

  // Bytes per link of a transfer group, as (link, bytes) pairs in link order.
  const std::vector<std::pair<int, double>>& group_link_bytes(const std::vector<Transfer>& transfers) {
    touched_.clear();
    for (const Transfer& t : transfers) {
      platform_.route_links(t.src_gpu, t.dst_gpu, route_);
      for (int link : route_) {
        if (link_scratch_[link] == 0) touched_.push_back(link);
        link_scratch_[link] += t.bytes;
      }
    }
    std::sort(touched_.begin(), touched_.end());
    group_bytes_.clear();
    for (int link : touched_) {
      group_bytes_.emplace_back(link, link_scratch_[link]);
      link_scratch_[link] = 0;
    }
    return group_bytes_;
  }

  // Every 4096 ops: the limits, and progress on a terminal (ops done, simulated and wall time).
  void op_done(size_t n) {
    done_ops_ += n;
    if ((done_ops_ & 0xFFF) >= n) return;
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    if (wall > wall_limit_s_) _exit(EXIT_WALL_LIMIT);
    if (resident_bytes() > memory_limit_bytes_) _exit(EXIT_MEMORY_LIMIT);
    if (!show_progress_ || wall - last_progress_s_ < 1) return;
    last_progress_s_ = wall;
    const double share = double(done_ops_) / std::max<size_t>(total_ops_, 1);
    std::fprintf(stderr, "\rdes: %5.1f%% of ops, simulated %.3f s, wall %s, ETA %s   ", 100.0 * share, Platform::now_s(),
                 ProgressLine::seconds(wall).c_str(), ProgressLine::seconds(share > 0 ? wall * (1 - share) / share : 0).c_str());
  }

  const Scenario& s_;
  const StepProgram& program_;
  Platform platform_;
  TimelineRecorder recorder_;
  LinkMeter meter_;
  std::vector<CollectiveState> collectives_;
  std::vector<BatchState> batches_;
  std::map<std::tuple<const void*, double, bool, int, double>, Prepared> prepared_;
  std::vector<int> slot_of_gpu_;
  std::vector<int> route_;
  std::vector<double> link_scratch_ = std::vector<double>(platform_.links().size(), 0);
  std::vector<int> touched_;
  std::vector<std::pair<int, double>> group_bytes_;
  const AllToAllAlgorithm* all_to_all_ = nullptr;
  bool per_pair_ = false;
  size_t total_ops_ = 0, done_ops_ = 0;
  bool show_progress_ = isatty(STDERR_FILENO);
  std::chrono::steady_clock::time_point started_;
  double last_progress_s_ = 0;
  double wall_limit_s_;
  double memory_limit_bytes_;
};

void check_child_limits(int status, const Scenario& s) {
  const bool wall = (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_WALL_LIMIT) ||
                    (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM);
  if (wall)
    throw ResourceLimit("stopped: the discrete-event simulation ran longer than sim.max_wall_s = " +
                        std::to_string(long(*s.sim.max_wall_s)) + " s; raise it, or use the analytic engine");
  if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_MEMORY_LIMIT)
    throw ResourceLimit("stopped: the discrete-event simulation used more memory than " +
                        (s.sim.max_memory_gib ? "sim.max_memory_gib = " + std::to_string(*s.sim.max_memory_gib) + " GiB"
                                              : std::string("this machine has")) +
                        "; raise it, use fewer GPUs or micro-batches, or the analytic engine");
}

[[noreturn]] void child_main(int fd, const Scenario& s, const Topology& topology, const StepProgram& program,
                             const std::vector<char>& traced, double wall_limit_s) {
  std::FILE* out = fdopen(fd, "wb");
  // A backstop for a simulation that stops making progress between limit checks.
  if (std::isfinite(wall_limit_s)) alarm(unsigned(std::ceil(wall_limit_s)) + 1);
  try {
    const EngineRun run = DesSimulation(s, topology, program, traced, wall_limit_s).run();
    write_engine_run(out, run);
    std::fclose(out);
    _exit(0);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "moesim des: %s\n", e.what());
    std::fclose(out);
    _exit(4);
  }
}

}  // namespace

EngineRun run_des(const Scenario& scenario, const Topology& topology, const StepProgram& program,
                  const std::vector<char>& traced, double wall_limit_s) {
  if (wall_limit_s <= 0) throw ResourceLimit("stopped before the simulation: sim.max_wall_s is used up");
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("des: cannot create a pipe");
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("des: cannot fork the simulation process");
  if (pid == 0) {
    close(fds[0]);
    child_main(fds[1], scenario, topology, program, traced, wall_limit_s);
  }
  close(fds[1]);
  std::string bytes;
  char buffer[1 << 16];
  for (ssize_t n; (n = read(fds[0], buffer, sizeof buffer)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    bytes.append(buffer, size_t(n));
  }
  close(fds[0]);
  int status = 0;
  rusage usage{};
  while (wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {
  }
  check_child_limits(status, scenario);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error(WIFSIGNALED(status) ? "des: the simulation process died of signal " + std::to_string(WTERMSIG(status))
                                                 : "des: the simulation process failed (see the message above)");
  EngineRun run = read_engine_run(bytes);
  run.peak_rss_bytes = usage.ru_maxrss * 1024L;
  return run;
}

}  // namespace moesim
