#include "sim/des/platform.hpp"

#include <simgrid/kernel/routing/NetPoint.hpp>
#include <simgrid/kernel/routing/NetZoneImpl.hpp>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Host.hpp>
#include <simgrid/s4u/Link.hpp>
#include <simgrid/s4u/NetZone.hpp>

#include <stdexcept>

#if defined(__SANITIZE_ADDRESS__)
#define MOESIM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MOESIM_ASAN 1
#endif
#endif

namespace moesim {

namespace sg4 = simgrid::s4u;
namespace routing = simgrid::kernel::routing;

namespace {

// Host speed in FLOP/s. Nothing executes on hosts (compute waits on kernel timers, see
// des_engine.cpp); SimGrid only requires a positive speed.
constexpr double HOST_SPEED = 1e12;

// GPU fabric settings (shared/SIMGRID_NOTES.md): parallel tasks (ptask_L07) let one
// activity carry a whole all-to-all phase; no TCP-gamma window cap and no reverse-direction
// cross traffic, neither of which exists on NVLink or RDMA fabrics.
void configure_simgrid() {
#ifdef MOESIM_ASAN
  // Debian's SimGrid is not built with AddressSanitizer, whose checks do not follow its
  // hand-switched stacks; system threads (still one running at a time) they do follow.
  sg4::Engine::set_config("contexts/factory:thread");
#endif
  sg4::Engine::set_config("host/model:ptask_L07");
  sg4::Engine::set_config("network/crosstraffic:0");
  sg4::Engine::set_config("network/TCP-gamma:0");
}

}  // namespace

// The zone that computes routes on request from the cluster's structure.
class Platform::Impl : public routing::NetZoneImpl {
 public:
  Impl(const Topology& topology) : routing::NetZoneImpl("moesim-fabric"), topology_(topology) {}

  // Link indices: per GPU g, 4g + {NVLink up, NVLink down, NIC up, NIC down}; then per
  // (leaf, spine), two uplink directions.
  static int nvlink(int gpu, bool up) { return 4 * gpu + (up ? 0 : 1); }
  static int nic(int gpu, bool up) { return 4 * gpu + (up ? 2 : 3); }
  int uplink(int leaf, int spine, bool up) const {
    return 4 * topology_.gpus() + 2 * (leaf * topology_.spines() + spine) + (up ? 0 : 1);
  }

  // A destination's port index under its leaf: d-mod-k over these spreads a leaf's
  // destinations evenly over the spines.
  int leaf_position(int gpu) const {
    const ClusterSpec& c = topology_.cluster();
    const int node_in_group = c.node_of(gpu) % c.nodes_per_leaf;
    return c.fabric == InterNodeFabric::RAIL_OPTIMIZED ? node_in_group : node_in_group * c.gpus_per_node + gpu % c.gpus_per_node;
  }

  void route_indices(int src, int dst, std::vector<int>& out) const {
    out.clear();
    if (src == dst) return;
    const ClusterSpec& c = topology_.cluster();
    if (c.node_of(src) == c.node_of(dst)) {
      out = {nvlink(src, true), nvlink(dst, false)};
      return;
    }
    out.push_back(nic(src, true));
    const int src_leaf = topology_.leaf_of(src), dst_leaf = topology_.leaf_of(dst);
    if (src_leaf != dst_leaf) {
      const int spine = leaf_position(dst) % topology_.spines();  // d-mod-k
      out.push_back(uplink(src_leaf, spine, true));
      out.push_back(uplink(dst_leaf, spine, false));
    }
    out.push_back(nic(dst, false));
  }

  void get_local_route(const routing::NetPoint* src, const routing::NetPoint* dst, routing::Route* into,
                       double* latency) override {
    route_indices(int(src->id()), int(dst->id()), scratch_);
    for (int index : scratch_) {
      into->link_list_.push_back(impls_[index]);
      if (latency) *latency += latencies_[index];
    }
  }

  const Topology& topology_;
  std::vector<simgrid::kernel::resource::StandardLinkImpl*> impls_;
  std::vector<double> latencies_;
  std::vector<int> scratch_;
};

Platform::Platform(const Topology& topology) {
  // Keep SimGrid's configuration chatter out of moesim's output; warnings still show.
  static int argc = 2;
  static char name[] = "moesim", quiet[] = "--log=root.thres:warning";
  static char* argv[] = {name, quiet, nullptr};
  if (sg4::Engine::is_initialized()) throw std::logic_error("one SimGrid platform per process");
  new sg4::Engine(&argc, argv);  // lives until the process exits (SimGrid's rule)
  configure_simgrid();
  impl_ = new Impl(topology);  // the first zone created becomes the root zone
  sg4::NetZone* zone = impl_->get_iface();
  const ClusterSpec& c = topology.cluster();
  for (int gpu = 0; gpu < topology.gpus(); ++gpu) {
    sg4::Host* host = zone->create_host("gpu" + std::to_string(gpu), HOST_SPEED);
    host->seal();
    if (int(host->get_netpoint()->id()) != gpu) throw std::logic_error("SimGrid host ids out of GPU order");
    hosts_.push_back(host);
  }
  const auto add_duplex = [&](const std::string& name, LinkClass link_class, double bandwidth_Bps, double latency_s) {
    auto* link = zone->create_split_duplex_link(name, bandwidth_Bps);
    link->set_latency(latency_s)->seal();
    for (sg4::Link* direction : {link->get_link_up(), link->get_link_down()}) {
      links_.push_back({direction, direction->get_name(), link_class, bandwidth_Bps});
      impl_->impls_.push_back(direction->get_impl());
      impl_->latencies_.push_back(latency_s);
    }
  };
  for (int gpu = 0; gpu < topology.gpus(); ++gpu) {
    add_duplex("nvlink" + std::to_string(gpu), LinkClass::NVLINK, c.nvlink_payload_Bps(), c.nvlink_latency_s / 2);
    add_duplex("nic" + std::to_string(gpu), LinkClass::NIC, c.nic_payload_Bps(), c.nic_latency_s / 2);
  }
  // Switch-to-switch links carry no latency of their own (it is in the NIC figure).
  const double per_spine_Bps = topology.spines() ? topology.leaf_uplink_Bps() / topology.spines() : 0;
  for (int leaf = 0; leaf < topology.leaves(); ++leaf)
    for (int spine = 0; spine < topology.spines(); ++spine)
      add_duplex("leaf" + std::to_string(leaf) + "-spine" + std::to_string(spine), LinkClass::SWITCH_UPLINK,
                 per_spine_Bps, 0);
  zone->seal();
}

Platform::~Platform() = default;

std::vector<sg4::Link*> Platform::route(int src_gpu, int dst_gpu, double* latency_s) const {
  std::vector<sg4::Link*> links;
  double latency = 0;
  hosts_[src_gpu]->route_to(hosts_[dst_gpu], links, &latency);
  if (latency_s) *latency_s = latency;
  return links;
}

void Platform::route_links(int src_gpu, int dst_gpu, std::vector<int>& link_indices) const {
  impl_->route_indices(src_gpu, dst_gpu, link_indices);
}

void Platform::run() { sg4::Engine::get_instance()->run(); }

double Platform::now_s() { return sg4::Engine::get_clock(); }

}  // namespace moesim
