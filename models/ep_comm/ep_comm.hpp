#pragma once
#include <optional>

#include "hardware/cluster.hpp"
#include "hardware/registry.hpp"

namespace moesim {

// One expert-parallel dispatch or combine kernel, as an EP library runs it: every rank sends
// tokens_per_rank tokens, each to top_k of `experts` experts spread evenly over ep_size ranks
// (ranks fill nodes of cluster.gpus_per_node). Routing is uniform random, optionally limited
// to max_nodes_per_token nodes (DeepSeek-V3's node-limited routing, as DeepEP's tests draw it).
struct EpKernel {
  int ep_size = 0;
  int tokens_per_rank = 0;
  int top_k = 0;
  int experts = 0;
  double bytes_per_token = 0;
  std::optional<int> max_nodes_per_token;
  std::optional<int> sms;  // SMs the kernel may use; none: the library's default
  bool combine = false;
  // timed around the library's PyTorch call (allocation, metadata preprocessing, host
  // synchronisation) rather than its kernel alone
  bool through_torch_api = false;
};

// Per rank, expected over the routing: what the kernel moves and what libraries count.
struct EpTraffic {
  double nic_bytes = 0;          // out of this rank's NIC
  double nvlink_bytes = 0;       // over this rank's NVLink port
  double token_nodes = 0;        // distinct (token, destination node) pairs, own node included
  double token_ranks = 0;        // distinct (token, destination rank) pairs, own rank included
  double token_experts = 0;      // (token, expert) selections
};

// Expected distinct nodes and ranks per token, by Monte Carlo of the library tests' routing
// (scores |N(0,1)| + 1, node groups by their best score): deterministic (fixed seed).
struct DestinationCounts {
  double nodes = 0;  // own node included
  double ranks = 0;  // own rank included
  double own_node = 0;  // probability that the own node is among them
  double own_rank = 0;
};
DestinationCounts destination_counts(const EpKernel& k, int gpus_per_node);

// A library's kernel: its traffic and its time on a cluster. Parameters are the library's
// (fixed latency, copy throughput per SM, default SMs), one set per library, never per point.
struct EpLibrary {
  double latency_s = 0;      // fixed cost of one kernel: launch, handshakes, first-byte latency
  double sm_Bps = 0;         // copy throughput per SM (0: the links bound it alone)
  // SM time per token copy besides its bytes (one SM's seconds), dispatch and combine: what
  // each copy costs whatever its size (its routing metadata, probabilities and scales, its
  // completion flags; the combine's reduction). Why FP8 tokens of half the bytes take more
  // than half the time on few SMs.
  double dispatch_copy_sm_s = 0;
  double combine_copy_sm_s = 0;
  int default_sms = 0;
  double torch_api_s = 0;    // what the PyTorch call adds to the kernel (EpKernel::through_torch_api)
  // true: one copy per (token, node) over RDMA, then NVLink forwarding (DeepEP normal); its
  // benchmarks count unique (token, node) or (token, rank) pairs. false: one copy per
  // (token, expert), sent directly (DeepEP low-latency); benchmarks count every selection.
  bool per_node_dedup = false;
  // true: the kernel's SMs copy the RDMA bytes too (DeepEP normal packs them into send
  // buffers); false: the NIC reads them itself and the SMs only post requests, so the SM
  // throughput bounds the NVLink copies alone (Hybrid-EP's RDMA warp group).
  bool sms_copy_rdma = true;
  // Share of the NVLink port's rate the library's copies reach however many SMs they get
  // (1: the port's rate). A plateau over SM counts in a library's own table sets it.
  double nvlink_share = 1.0;
};

const Registry<EpLibrary>& ep_libraries();

// Kernel time: the fixed latency plus the slowest of the NIC transfer (at its payload rate,
// ClusterSpec::nic_efficiency of its line rate), the NVLink transfer (at NVLink's port rate
// times the library's nvlink_share) and the kernel's SMs copying the bytes they copy (at
// sm_Bps each, plus the per-copy SM time); through the PyTorch API, plus its torch_api_s.
double ep_kernel_s(const EpLibrary& library, const EpKernel& k, const ClusterSpec& cluster);
EpTraffic ep_traffic(const EpLibrary& library, const EpKernel& k, const ClusterSpec& cluster);

}  // namespace moesim
