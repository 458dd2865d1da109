#pragma once
#include <string>
#include <vector>

#include "hardware/topology.hpp"

namespace simgrid::s4u {
class Host;
class Link;
}  // namespace simgrid::s4u

namespace moesim {

// One link of the SimGrid platform (one direction of a full-duplex port or uplink).
struct PlatformLink {
  simgrid::s4u::Link* link = nullptr;
  std::string name;  // e.g. nvlink3_UP (GPU 3 to its NVSwitch), nic3_DOWN, leaf0-spine2_UP
  LinkClass link_class = LinkClass::NVLINK;
  double bandwidth_Bps = 0;
};

// The cluster as a SimGrid platform, generated from the Boost.Graph topology's cluster:
// one host per GPU; per GPU a split-duplex NVLink port to its node's NVSwitch and a
// split-duplex NIC port to its leaf; split-duplex uplinks from each leaf to each spine.
// Routes are computed on request by a zone of ours (no route table): NVSwitch inside a
// node, NIC-leaf-NIC under one leaf, NIC-leaf-spine-leaf-NIC across leaves with the spine
// chosen by destination (d-mod-k). Latency sits on the GPU-side links only (half the
// class latency on each end) because CM02-family max-min sharing weights flows by route
// latency (shared/SIMGRID_NOTES.md). All SimGrid platform calls stay behind this class.
//
// SimGrid allows one engine per process: build at most one Platform per process.
class Platform {
 public:
  // Configures SimGrid (network factors, host model) and builds the platform.
  explicit Platform(const Topology& topology);
  ~Platform();
  Platform(const Platform&) = delete;
  Platform& operator=(const Platform&) = delete;

  simgrid::s4u::Host* host(int gpu) const { return hosts_[gpu]; }
  const std::vector<PlatformLink>& links() const { return links_; }
  // Indices into links() of the route from one GPU to another (what the zone gives SimGrid).
  void route_links(int src_gpu, int dst_gpu, std::vector<int>& link_indices) const;
  // Links along SimGrid's route from one GPU to another, and their summed latency.
  std::vector<simgrid::s4u::Link*> route(int src_gpu, int dst_gpu, double* latency_s = nullptr) const;
  void run();  // runs the simulation until every actor has finished
  static double now_s();

 private:
  class Impl;
  Impl* impl_;
  std::vector<simgrid::s4u::Host*> hosts_;
  std::vector<PlatformLink> links_;
};

}  // namespace moesim
