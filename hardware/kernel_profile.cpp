#include "hardware/kernel_profile.hpp"

#include <nlohmann/json.hpp>

#include "hardware/input_error.hpp"
#include "hardware/input_file.hpp"

namespace moesim {

namespace {

using json = nlohmann::ordered_json;
constexpr const char* SCHEMA = "moesim-profile/1";

// Reads one profile document; every failure names the file and the JSON path.
class ProfileReader {
 public:
  explicit ProfileReader(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const std::string& path, const std::string& what) const {
    throw InputError(source_ + ": " + path + ": " + what);
  }
  const json& member(const json& obj, const std::string& key, const std::string& path) const {
    if (!obj.is_object() || !obj.contains(key)) fail(path + "/" + key, "missing");
    return obj.at(key);
  }
  double positive(const json& obj, const std::string& key, const std::string& path) const {
    const json& v = member(obj, key, path);
    if (!v.is_number() || v.get<double>() <= 0) fail(path + "/" + key, "expected a number > 0, got " + v.dump());
    return v.get<double>();
  }
  double non_negative(const json& obj, const std::string& key, const std::string& path) const {
    const json& v = member(obj, key, path);
    if (!v.is_number() || v.get<double>() < 0) fail(path + "/" + key, "expected a number >= 0, got " + v.dump());
    return v.get<double>();
  }
  std::string text(const json& obj, const std::string& key, const std::string& path) const {
    if (!obj.contains(key)) return "";
    const json& v = obj.at(key);
    if (!v.is_string()) fail(path + "/" + key, "expected a string, got " + v.dump());
    return v.get<std::string>();
  }
  std::optional<LinkFit> link(const json& links, const std::string& key) const {
    if (!links.contains(key) || links.at(key).is_null()) return std::nullopt;
    const std::string path = "/links/" + key;
    const json& l = links.at(key);
    if (!l.is_object()) fail(path, "expected an object with bandwidth_GBps and latency_us");
    LinkFit fit;
    fit.bandwidth_Bps = positive(l, "bandwidth_GBps", path) * 1e9;
    fit.latency_s = non_negative(l, "latency_us", path) * 1e-6;
    fit.points = int(non_negative(l, "points", path));
    return fit;
  }

 private:
  std::string source_;
};

json link_json(const std::optional<LinkFit>& fit) {
  if (!fit) return nullptr;
  return {{"bandwidth_GBps", fit->bandwidth_Bps / 1e9}, {"latency_us", fit->latency_s * 1e6}, {"points", fit->points}};
}

}  // namespace

ClusterSpec apply_profile(ClusterSpec cluster, const KernelProfile& p, const std::string& source) {
  if (!p.gpu_preset.empty() && p.gpu_preset != cluster.gpu.name)
    throw InputError(source + ": the profile was measured on " + p.gpu_preset + " (" + p.device +
                     "); the cluster's GPU is " + cluster.gpu.name);
  const double peak = cluster.gpu.peak_flops(p.dtype == "fp8" ? Dtype::FP8 : Dtype::BF16);
  const auto efficiency = [&](double achieved, double datasheet, const char* what) {
    const double e = achieved / datasheet;
    if (!(e > 0 && e <= 1.0))
      throw InputError(source + ": " + what + " " + std::to_string(achieved) + " is " + std::to_string(e) +
                       " of " + cluster.gpu.name + "'s datasheet figure; expected a fraction in (0, 1]");
    return e;
  };
  (p.dtype == "fp8" ? cluster.fp8_gemm_efficiency : cluster.gemm_efficiency) =
      efficiency(p.gemm_flops_per_s, peak, "/compute/gemm_TFLOPS");
  cluster.hbm_efficiency = efficiency(p.memory_Bps, cluster.gpu.hbm_Bps, "/compute/memory_GBps");
  cluster.gemm_tile_rows = p.gemm_tile_rows;
  cluster.gemm_tile_cols = p.gemm_tile_cols;
  if (p.compute_units > 0) cluster.gpu.sms = p.compute_units;
  cluster.gemm_overhead_s = p.gemm_overhead_s;
  cluster.kernel_overhead_s = p.kernel_overhead_s;
  // fitted link rates are payload rates: they replace line rate and efficiency together; the
  // fitted latencies are per ring step, as the fit priced them
  if (p.intra_node || p.inter_node) cluster.nccl_latencies = false;
  if (p.intra_node) {
    cluster.nvlink_Bps = p.intra_node->bandwidth_Bps;
    cluster.nvlink_efficiency = 1;
    cluster.nvlink_latency_s = p.intra_node->latency_s;
  }
  if (p.inter_node) {
    cluster.nic_Bps = p.inter_node->bandwidth_Bps;
    cluster.nic_efficiency = 1;
    cluster.nic_latency_s = p.inter_node->latency_s;
  }
  return cluster;
}

KernelProfile read_kernel_profile(const std::string& path) {
  const json doc = json::parse(read_input_file(path, "profile"), nullptr, false);
  const ProfileReader r(path);
  if (doc.is_discarded()) r.fail("/", "not valid JSON");
  if (!doc.is_object() || !doc.contains("schema") || doc.at("schema") != SCHEMA) r.fail("/schema", std::string("expected \"") + SCHEMA + "\"");
  KernelProfile p;
  const json& device = r.member(doc, "device", "");
  p.device = r.text(device, "name", "/device");
  p.gpu_preset = r.text(device, "gpu_preset", "/device");
  p.machine = r.text(device, "machine", "/device");
  p.date = r.text(device, "date", "/device");
  if (doc.contains("commands")) {
    if (!doc.at("commands").is_array()) r.fail("/commands", "expected a list of strings");
    for (const json& c : doc.at("commands")) {
      if (!c.is_string()) r.fail("/commands", "expected a list of strings, got " + c.dump());
      p.commands.push_back(c.get<std::string>());
    }
  }
  const json& compute = r.member(doc, "compute", "");
  p.dtype = r.text(compute, "dtype", "/compute");
  if (p.dtype != "bf16" && p.dtype != "fp8" && p.dtype != "fp32")
    r.fail("/compute/dtype", "expected bf16, fp8 or fp32, got \"" + p.dtype + "\"");
  p.gemm_flops_per_s = r.positive(compute, "gemm_TFLOPS", "/compute") * 1e12;
  const auto whole = [&](const char* key, double max) {
    const double v = r.positive(compute, key, "/compute");
    if (v != double(int(v)) || v > max) r.fail(std::string("/compute/") + key, "expected an integer in [1, " + std::to_string(int(max)) + "]");
    return int(v);
  };
  p.gemm_tile_rows = whole("gemm_tile_rows", 4096);
  p.gemm_tile_cols = whole("gemm_tile_cols", 4096);
  p.compute_units = compute.contains("compute_units") && compute.at("compute_units").is_null() ? 0 : whole("compute_units", 1e6);
  p.gemm_overhead_s = r.non_negative(compute, "gemm_overhead_us", "/compute") * 1e-6;
  p.memory_Bps = r.positive(compute, "memory_GBps", "/compute") * 1e9;
  p.kernel_overhead_s = r.non_negative(compute, "kernel_overhead_us", "/compute") * 1e-6;
  if (doc.contains("links")) {
    const json& links = doc.at("links");
    if (!links.is_object()) r.fail("/links", "expected an object with intra_node and inter_node");
    p.intra_node = r.link(links, "intra_node");
    p.inter_node = r.link(links, "inter_node");
  }
  return p;
}

std::string kernel_profile_json(const KernelProfile& p) {
  json doc = {
      {"schema", SCHEMA},
      {"device", {{"name", p.device}, {"gpu_preset", p.gpu_preset}, {"machine", p.machine}, {"date", p.date}}},
      {"commands", p.commands},
      {"compute",
       {{"dtype", p.dtype},
        {"gemm_TFLOPS", p.gemm_flops_per_s / 1e12},
        {"gemm_tile_rows", p.gemm_tile_rows},
        {"gemm_tile_cols", p.gemm_tile_cols},
        {"compute_units", p.compute_units > 0 ? json(p.compute_units) : json(nullptr)},
        {"gemm_overhead_us", p.gemm_overhead_s * 1e6},
        {"memory_GBps", p.memory_Bps / 1e9},
        {"kernel_overhead_us", p.kernel_overhead_s * 1e6}}},
      {"links", {{"intra_node", link_json(p.intra_node)}, {"inter_node", link_json(p.inter_node)}}},
  };
  return doc.dump(2) + "\n";
}

}  // namespace moesim
