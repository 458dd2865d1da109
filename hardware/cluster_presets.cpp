// Cluster presets: the node designs that MoE training runs on. Node figures are from the
// vendors' system datasheets; latencies are typical one-way figures for the link class
// (NVLink through NVSwitch ~1 us incl. kernel, InfiniBand NDR ~2 us NIC to NIC); a calibration
// profile replaces them with measured values.
#include "hardware/cluster.hpp"

namespace moesim {

namespace {
constexpr double GB = 1e9;
constexpr double US = 1e-6;

ClusterSpec node_of(const std::string& name, const std::string& gpu, double nic_GBps,
                    InterNodeFabric fabric = InterNodeFabric::RAIL_OPTIMIZED, int gpus_per_node = 8) {
  ClusterSpec c;
  c.name = name;
  c.gpu = *gpu_presets().find(gpu);
  c.nodes = 1;
  c.gpus_per_node = gpus_per_node;
  c.nvlink_Bps = c.gpu.nvlink_Bps;
  c.nvlink_latency_s = 1 * US;
  c.nic_Bps = nic_GBps * GB;
  c.nic_latency_s = 2 * US;
  c.fabric = fabric;
  return c;
}

Registry<ClusterSpec> make_cluster_presets() {
  Registry<ClusterSpec> r("cluster preset");
  // NVIDIA DGX H100 datasheet: 8x H100 SXM, NVSwitch, 8x ConnectX-7 400 Gb/s (50 GB/s) for compute.
  r.add("dgx-h100", "DGX H100: 8x H100-SXM on NVSwitch, one 400 Gb/s NIC per GPU, rail-optimized",
        node_of("dgx-h100", "h100-sxm", 50));
  // H800 clusters as DeepSeek describes them (V3 report Sec. 3.1): 8x H800, NVLink, one 400 Gb/s
  // InfiniBand NIC per GPU.
  r.add("hgx-h800", "HGX H800: 8x H800 on NVSwitch, one 400 Gb/s NIC per GPU, rail-optimized",
        node_of("hgx-h800", "h800", 50));
  // NVIDIA HGX H200 datasheet: 8x H200 on NVSwitch; ConnectX-7 400 Gb/s per GPU.
  r.add("hgx-h200", "HGX H200: 8x H200 on NVSwitch, one 400 Gb/s NIC per GPU, rail-optimized",
        node_of("hgx-h200", "h200", 50));
  // HGX H20 servers: 8x H20 on NVSwitch, one 400 Gb/s NIC per GPU as in the HGX H100 design.
  r.add("hgx-h20", "HGX H20: 8x H20 on NVSwitch, one 400 Gb/s NIC per GPU, rail-optimized",
        node_of("hgx-h20", "h20", 50));
  // NVIDIA DGX A100 datasheet: 8x A100 80 GB, 8x ConnectX-6 200 Gb/s (25 GB/s) for compute.
  r.add("dgx-a100", "DGX A100: 8x A100-80G on NVSwitch, one 200 Gb/s NIC per GPU, rail-optimized",
        node_of("dgx-a100", "a100-80g", 25));
  // NVIDIA DGX B200 datasheet: 8x B200, 8x ConnectX-7 400 Gb/s for compute.
  r.add("dgx-b200", "DGX B200: 8x B200 on NVLink 5 switch, one 400 Gb/s NIC per GPU, rail-optimized",
        node_of("dgx-b200", "b200", 50));
  // NVIDIA DGX B300 datasheet: 8x B300, 8x ConnectX-8 800 Gb/s (100 GB/s) for compute.
  r.add("dgx-b300", "DGX B300: 8x B300 on NVLink 5 switch, one 800 Gb/s NIC per GPU, rail-optimized",
        node_of("dgx-b300", "b300", 100));
  // NVL72 racks: 72 GPUs (18 trays of 4) in one NVLink 5 domain, which is moesim's node; one
  // NIC per GPU for the scale-out network: ConnectX-7 400 Gb/s on GB200 NVL72, ConnectX-8
  // 800 Gb/s on GB300 NVL72 (NVIDIA GB200 / GB300 NVL72 datasheets).
  r.add("gb200-nvl72", "GB200 NVL72: 72x GB200 in one NVLink 5 domain, one 400 Gb/s NIC per GPU, rail-optimized",
        node_of("gb200-nvl72", "gb200", 50, InterNodeFabric::RAIL_OPTIMIZED, 72));
  r.add("gb300-nvl72", "GB300 NVL72: 72x GB300 in one NVLink 5 domain, one 800 Gb/s NIC per GPU, rail-optimized",
        node_of("gb300-nvl72", "gb300", 100, InterNodeFabric::RAIL_OPTIMIZED, 72));
  // AMD Instinct MI300X platform: 8 GPUs on Infinity Fabric; one 400 Gb/s NIC per GPU, leaves
  // shared by consecutive nodes (fat tree) as in typical MI300X deployments.
  r.add("mi300x-node", "8x MI300X on Infinity Fabric, one 400 Gb/s NIC per GPU, fat tree",
        node_of("mi300x-node", "mi300x", 50, InterNodeFabric::FAT_TREE));
  return r;
}
}  // namespace

const Registry<ClusterSpec>& cluster_presets() {
  static const Registry<ClusterSpec> presets = make_cluster_presets();
  return presets;
}

std::string fabric_name(InterNodeFabric fabric) {
  return fabric == InterNodeFabric::RAIL_OPTIMIZED ? "rail_optimized" : "fat_tree";
}

}  // namespace moesim
