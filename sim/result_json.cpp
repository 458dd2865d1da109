#include "sim/result_json.hpp"

#include <filesystem>
#include <fstream>

#include "sim/spec_fields.hpp"

namespace moesim {

using nlohmann::json;

namespace {
constexpr double GIB = 1024.0 * 1024 * 1024;

json param_json(const ParamValue& v) {
  if (const double* d = std::get_if<double>(&v)) return *d;
  if (const std::string* s = std::get_if<std::string>(&v)) return *s;
  if (const bool* b = std::get_if<bool>(&v)) return *b;
  if (const auto* list = std::get_if<std::vector<double>>(&v)) return *list;
  if (const auto* list = std::get_if<std::vector<std::string>>(&v)) return *list;
  return nullptr;
}

template <class Spec>
json fields_json(const Spec& spec, const FieldTable<Spec>& fields) {
  json out = json::object();
  for (const auto& f : fields) out[f.spec.name] = param_json(f.get(spec));
  return out;
}

json component_json(const std::string& name_key, const ComponentChoice& choice) {
  json out = {{name_key, choice.name}};
  for (const auto& [key, value] : choice.params.values()) out[key] = param_json(value);
  return out;
}
}  // namespace

json cluster_to_json(const ClusterSpec& cluster) { return fields_json(cluster, cluster_fields()); }

json scenario_to_json(const Scenario& s) {
  json out;
  out["name"] = s.name;
  out["cluster"] = cluster_to_json(s.cluster);
  out["cluster"]["preset"] = s.cluster.name;
  out["model"] = fields_json(s.model, model_fields());
  out["model"]["preset"] = s.model.name;
  out["plan"] = fields_json(s.plan, plan_fields());
  out["router"] = component_json("policy", s.router);
  out["scores"] = component_json("source", s.scores);
  out["placement"] = component_json("strategy", s.placement);
  out["sim"] = fields_json(s.sim, sim_fields());
  return out;
}

json result_to_json(const StepResult& r, const Scenario& s) {
  json out;
  out["engine"] = r.engine;
  out["step_time_s"] = r.step_time_s;
  out["critical_gpu"] = r.critical_gpu;
  json breakdown = json::object();
  for (const auto& [name, seconds] : r.breakdown_s) breakdown[name] = seconds;
  out["breakdown_s"] = breakdown;
  out["tokens"] = {{"routed", r.tokens_routed},
                   {"dropped", r.tokens_dropped},
                   {"drop_rate", r.drop_rate},
                   {"unrouted_tokens", r.tokens_unrouted},
                   {"unit", "(token, expert choice) assignments per step, cluster-wide, summed over MoE layers; "
                            "unrouted_tokens: tokens that reached no expert in a layer"}};
  json layers = json::array();
  for (const auto& l : r.expert_load)
    layers.push_back({{"layer", l.layer}, {"tokens", l.tokens}, {"dropped", l.dropped}, {"max_over_mean", l.max_over_mean}});
  out["expert_load"] = {{"max_over_mean", r.expert_max_over_mean},
                        {"worst_layer_max_over_mean", r.expert_worst_max_over_mean},
                        {"rank_max_over_mean", r.rank_max_over_mean},
                        {"per_layer", layers},
                        {"unit", "accepted assignments per expert in the routed sample (one EP group)"}};
  json stragglers = json::array();
  for (const auto& l : r.stragglers)
    stragglers.push_back({{"layer", l.layer}, {"gpu", l.gpu}, {"max_wait_s", l.max_wait_s}, {"mean_wait_s", l.mean_wait_s}});
  out["stragglers"] = {{"per_layer", stragglers},
                       {"unit", "at each forward combine, the last GPU to arrive and how far behind the group's mean "
                                "arrival it was; gpu and max_wait_s are the layer's worst case"}};
  out["a2a_bytes"] = {{"intra_node", r.a2a_intra_node_bytes}, {"inter_node", r.a2a_inter_node_bytes}};
  out["memory_gib_per_gpu"] = r.memory.total_bytes() / GIB;
  out["memory_breakdown_gib"] = {{"weights", r.memory.weights_bytes / GIB},
                                 {"gradients", r.memory.gradients_bytes / GIB},
                                 {"optimizer", r.memory.optimizer_bytes / GIB},
                                 {"activations", r.memory.activations_bytes / GIB},
                                 {"a2a_buffers", r.memory.a2a_buffer_bytes / GIB}};
  out["hbm_gib_per_gpu"] = r.hbm_bytes / GIB;
  out["fits_memory"] = r.fits_memory;
  out["model_flops_per_step"] = r.model_flops_per_step;
  out["mfu"] = r.mfu;
  out["tokens_per_s"] = r.tokens_per_s;
  if (r.engine == "des") {
    json links = json::array();
    for (const auto& l : r.links)
      links.push_back({{"name", l.name},
                       {"bandwidth_GBps", l.bandwidth_Bps / 1e9},
                       {"mean_utilization", l.mean_utilization},
                       {"peak_utilization", l.peak_utilization}});
    out["links"] = links;
  }
  out["scenario"] = scenario_to_json(s);
  return out;
}

std::string write_result_json(const json& result, const std::string& dir) {
  std::filesystem::create_directories(dir);
  const std::string path = (std::filesystem::path(dir) / "result.json").string();
  std::ofstream out(path);
  if (!out) throw std::runtime_error(path + ": cannot write");
  out << result.dump(2) << "\n";
  return path;
}

}  // namespace moesim
