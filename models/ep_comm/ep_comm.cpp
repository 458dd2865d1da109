#include "models/ep_comm/ep_comm.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <tuple>
#include <vector>

#include "models/random.hpp"

namespace moesim {

DestinationCounts destination_counts(const EpKernel& k, int gpus_per_node) {
  static std::map<std::tuple<int, int, int, int, int>, DestinationCounts> cache;
  const int ranks = k.ep_size, nodes = std::max(1, ranks / std::max(1, gpus_per_node));
  const int node_limit = k.max_nodes_per_token ? std::min(*k.max_nodes_per_token, nodes) : nodes;
  const auto key = std::make_tuple(ranks, nodes, node_limit, k.experts, k.top_k);
  if (auto it = cache.find(key); it != cache.end()) return it->second;

  // Experts spread evenly: a count that is not a multiple of the ranks is rounded down to one,
  // as DeepEP's low-latency test does with its 288 (288 // ranks * ranks).
  const int experts_per_rank = std::max(1, k.experts / ranks), experts_per_node = experts_per_rank * (ranks / nodes);
  const int experts = experts_per_rank * ranks, top_k = std::min(k.top_k, experts);
  // ranks fill nodes in order; a last, partial node takes the remainder
  const auto node_of = [&](int e) { return std::min(nodes - 1, e / experts_per_node); };
  constexpr int SAMPLES = 4096;  // tokens of rank 0; the expectation's error is under 1 %
  Rng rng({0x5eed, uint64_t(ranks), uint64_t(experts)});
  std::vector<double> score(experts), group(nodes);
  std::vector<int> order(experts);
  DestinationCounts sum;
  for (int t = 0; t < SAMPLES; ++t) {
    for (double& s : score) s = std::fabs(rng.normal()) + 1;
    // node-limited: keep the experts of the node_limit nodes with the best expert score
    std::vector<bool> allowed(nodes, true);
    if (node_limit < nodes) {
      std::fill(group.begin(), group.end(), 0.0);
      for (int e = 0; e < experts; ++e) group[node_of(e)] = std::max(group[node_of(e)], score[e]);
      std::vector<int> g(nodes);
      std::iota(g.begin(), g.end(), 0);
      std::partial_sort(g.begin(), g.begin() + node_limit, g.end(), [&](int a, int b) { return group[a] > group[b]; });
      std::fill(allowed.begin(), allowed.end(), false);
      for (int i = 0; i < node_limit; ++i) allowed[g[i]] = true;
    }
    std::iota(order.begin(), order.end(), 0);
    const auto key_of = [&](int e) { return allowed[node_of(e)] ? score[e] : -1.0; };
    std::partial_sort(order.begin(), order.begin() + top_k, order.end(), [&](int a, int b) { return key_of(a) > key_of(b); });
    std::vector<bool> node_hit(nodes, false), rank_hit(ranks, false);
    for (int i = 0; i < top_k; ++i) node_hit[node_of(order[i])] = true, rank_hit[order[i] / experts_per_rank] = true;
    sum.nodes += std::count(node_hit.begin(), node_hit.end(), true);
    sum.ranks += std::count(rank_hit.begin(), rank_hit.end(), true);
    sum.own_node += node_hit[0];
    sum.own_rank += rank_hit[0];
  }
  DestinationCounts out{sum.nodes / SAMPLES, sum.ranks / SAMPLES, sum.own_node / SAMPLES, sum.own_rank / SAMPLES};
  cache[key] = out;
  return out;
}

namespace {

// DeepEP normal (and the libraries built like it): one RDMA copy per (token, remote node) to
// the GPU of the same rail, which forwards it over NVLink to the token's ranks in its node;
// tokens for the own node go over NVLink directly. Inside one node: one copy per (token, rank).
EpTraffic per_node_dedup(const EpKernel& k, const DestinationCounts& d, int gpus_per_node) {
  const double t = k.tokens_per_rank, b = k.bytes_per_token;
  const int nodes = std::max(1, k.ep_size / gpus_per_node);
  EpTraffic out;
  out.token_nodes = t * d.nodes;
  out.token_ranks = t * d.ranks;
  out.token_experts = t * k.top_k;
  if (nodes == 1) {
    out.nvlink_bytes = t * (d.ranks - d.own_rank) * b;
    return out;
  }
  out.nic_bytes = t * (d.nodes - d.own_node) * b;
  // received per rank equals sent per rank; a forwarded copy crosses NVLink unless it lands
  // on the receiving GPU itself (1 of the node's ranks)
  const double ranks_per_node_hit = d.ranks / d.nodes;
  out.nvlink_bytes = t * d.nodes * (ranks_per_node_hit - 1.0 / gpus_per_node) * b;
  return out;
}

// DeepEP low-latency: one copy per (token, expert), no dedup, straight to the expert's rank
// (NVLink inside the node, RDMA across).
EpTraffic per_expert_direct(const EpKernel& k, const DestinationCounts& d, int gpus_per_node) {
  const double selections = double(k.tokens_per_rank) * k.top_k, b = k.bytes_per_token;
  const int nodes = std::max(1, k.ep_size / gpus_per_node);
  EpTraffic out;
  out.token_nodes = k.tokens_per_rank * d.nodes;
  out.token_ranks = k.tokens_per_rank * d.ranks;
  out.token_experts = selections;
  const double local = 1.0 / nodes, self = 1.0 / k.ep_size;
  out.nic_bytes = selections * (1 - local) * b;
  out.nvlink_bytes = selections * (local - self) * b;
  return out;
}

Registry<EpLibrary> make_libraries() {
  Registry<EpLibrary> r("EP library");
  // Latency: two NIC round trips plus a kernel launch (~10 us per direction). Copy throughput
  // per SM (applied to the bytes the SMs copy) is calibrated on one row of each library's own
  // published table (shared/validation) and applied to all of its rows:
  //  - DeepEP normal: EP8 dispatch on H800 with 24 SMs, 153 GB/s -> 5.7 GB/s per SM; its
  //    SMs also pack the RDMA bytes into send buffers.
  //  - DeepEP V2: EP8 dispatch on SM100 with 24 SMs, 643 GB/s -> 24.4 GB/s per SM.
  //  - Hybrid-EP: its EP16 rows with 4 SMs (kernel only), where its SMs bind: BF16 dispatch
  //    44.4 GB/s of "algorithm bandwidth", FP8 dispatch 34.0 GB/s (half the bytes, 0.67 of the
  //    time), BF16 combine 52.0 GB/s. Three rows, three parameters: 52.4 GB/s per SM for the
  //    NVLink bytes, and per token copy (NVLink forward or RDMA put) 111 ns of one SM in the
  //    dispatch (routing metadata, probabilities, scales, flags), 60 ns in the combine. Its
  //    PyTorch call adds 335 us (the combine row through the API: 2196 us against 1861 us at
  //    16 SMs).
  // V2 and Hybrid-EP leave the RDMA bytes to the NIC (a warp posts one-sided puts; Hybrid-EP's
  // implementation guide: "RDMA warp group"), so their SMs bound the NVLink copies alone.
  // Their NVLink copies level off below the port's rate, whatever the SMs:
  //  - Hybrid-EP: EP16 BF16 dispatch (kernel only) at 8 and 16 SMs, 76.8 and 71.7 GB/s; the
  //    16-SM row is 231 GB/s of NVLink forwarding, 0.514 of H100's 450.
  //  - DeepEP V2: EP8 dispatch on SM100 at 64 SMs, 726 GB/s (643 at 24): 665 GB/s of
  //    NVLink copies, 0.739 of NVLink 5's 900.
  r.add("deepep_normal", "DeepEP normal kernels: RDMA per (token, node), NVLink forwarding, 20 SMs by default",
        {.latency_s = 20e-6, .sm_Bps = 5.7e9, .default_sms = 20, .per_node_dedup = true, .sms_copy_rdma = true});
  r.add("deepep_v2", "DeepEP V2 (ElasticBuffer): per-node dedup like normal, fewer SMs for the same bandwidth",
        {.latency_s = 20e-6, .sm_Bps = 24.4e9, .default_sms = 24, .per_node_dedup = true, .sms_copy_rdma = false,
         .nvlink_share = 0.739});
  r.add("hybrid_ep", "NVIDIA Hybrid-EP: per-node dedup like DeepEP normal, TMA copies",
        {.latency_s = 20e-6, .sm_Bps = 52.39e9, .dispatch_copy_sm_s = 111.1e-9, .combine_copy_sm_s = 59.9e-9,
         .default_sms = 16, .torch_api_s = 335e-6, .per_node_dedup = true, .sms_copy_rdma = false,
         .nvlink_share = 0.514});
  r.add("deepep_ll", "DeepEP low-latency kernels: one copy per (token, expert), direct RDMA or NVLink",
        {.latency_s = 30e-6});
  r.add("nccl_ep_ll", "NCCL EP low-latency kernels (contrib/nccl_ep): as DeepEP low-latency",
        {.latency_s = 30e-6});
  return r;
}

// The time the kernel's SMs need for their share of the copies: the bytes they copy at
// sm_Bps each, and a fixed time per copy, including the RDMA copies whose bytes the NIC
// reads itself (an SM still posts each one). Libraries whose SMs pack the RDMA bytes copy
// both links' bytes, each link's with all of the kernel's SMs.
double sm_bound_s(const EpLibrary& library, const EpKernel& k, const EpTraffic& t, int sms) {
  if (library.sm_Bps <= 0 || sms <= 0) return 0;
  const double copy_sm_s = k.combine ? library.combine_copy_sm_s : library.dispatch_copy_sm_s;
  const double nvlink_copies = t.nvlink_bytes / k.bytes_per_token, nic_copies = t.nic_bytes / k.bytes_per_token;
  if (library.sms_copy_rdma)
    return std::max(t.nvlink_bytes / library.sm_Bps + nvlink_copies * copy_sm_s,
                    t.nic_bytes / library.sm_Bps + nic_copies * copy_sm_s) / sms;
  return (t.nvlink_bytes / library.sm_Bps + (nvlink_copies + nic_copies) * copy_sm_s) / sms;
}

}  // namespace

const Registry<EpLibrary>& ep_libraries() {
  static const Registry<EpLibrary> r = make_libraries();
  return r;
}

EpTraffic ep_traffic(const EpLibrary& library, const EpKernel& k, const ClusterSpec& cluster) {
  const int gpn = std::min(cluster.gpus_per_node, k.ep_size);
  const DestinationCounts d = destination_counts(k, gpn);
  return library.per_node_dedup ? per_node_dedup(k, d, gpn) : per_expert_direct(k, d, gpn);
}

double ep_kernel_s(const EpLibrary& library, const EpKernel& k, const ClusterSpec& cluster) {
  const EpTraffic t = ep_traffic(library, k, cluster);
  const int sms = k.sms.value_or(library.default_sms);
  const double nic_s = t.nic_bytes > 0 ? t.nic_bytes / cluster.nic_payload_Bps() : 0;
  const double nvlink_s = t.nvlink_bytes > 0 ? t.nvlink_bytes / (library.nvlink_share * cluster.nvlink_Bps) : 0;
  const double api_s = k.through_torch_api ? library.torch_api_s : 0;
  return library.latency_s + std::max({nic_s, nvlink_s, sm_bound_s(library, k, t, sms)}) + api_s;
}

}  // namespace moesim
