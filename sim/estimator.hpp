#pragma once
#include "hardware/topology.hpp"
#include "models/cost_model.hpp"
#include "sim/result.hpp"
#include "sim/scenario.hpp"
#include "sim/traffic.hpp"

namespace moesim {

// The analytic critical path of one training step: per-layer closed forms over the routed
// loads, the slowest GPU of the EP group setting the pace, 1F1B pipelining, then gradient
// synchronisation and the optimizer step, nothing overlapped. Microseconds per plan.
StepResult estimate_step(const Scenario& scenario, const Topology& topology, const RoutedStep& routed);

// Time of one all-to-all of the EP group: each GPU port moves its copies at the port's
// bandwidth (NVLink and NIC in parallel), each leaf's spine uplinks carry the copies that
// leave the leaf; the busiest port or uplink sets the time, plus the latency of the slowest
// link class used. `reverse` swaps senders and receivers (combine).
double all_to_all_s(const MicroBatchLoad& load, const EpGroupLayout& group, const Topology& topology,
                    double bytes_per_copy, bool reverse);

}  // namespace moesim
