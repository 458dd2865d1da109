#pragma once
#include <functional>
#include <vector>

#include "hardware/cluster.hpp"
#include "hardware/registry.hpp"

namespace moesim {

struct Transfer {
  int src_gpu = 0;
  int dst_gpu = 0;
  double bytes = 0;
};

// Transfers that run at once; the next phase starts when all of them are done. Latencies
// beyond the one of the phase's own transfers (e.g. the further steps of a ring) are added.
struct Phase {
  std::vector<Transfer> transfers;
  double extra_latency_s = 0;
};

// A collective algorithm is data: the phases it turns a collective into. The one executor
// (des_engine.cpp) runs any of them, either grouped into parallel tasks or pair by pair.
//
// All-to-all: bytes[i * n + j] go from members[i] to members[j].
using AllToAllAlgorithm =
    std::function<std::vector<Phase>(const std::vector<int>& members, const std::vector<double>& bytes, const ClusterSpec&)>;
const Registry<AllToAllAlgorithm>& all_to_all_algorithms();

// Ring all-reduce of `bytes` per member: 2 (n-1)/n of them go to the ring successor in
// 2 (n-1) steps, split over parallel rings (channels) and priced per protocol as
// CostModel::ring_allreduce decides (NCCL's tuner, or a profile's fitted step latency).
std::vector<Phase> ring_all_reduce(const std::vector<int>& members, double bytes, const ClusterSpec& cluster);

}  // namespace moesim
