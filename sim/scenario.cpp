// The scenario reader: strict (unknown keys are errors), and every error names the file,
// the JSON path, the value and what was expected.
#include "sim/scenario.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "hardware/input_file.hpp"
#include "hardware/kernel_profile.hpp"
#include "models/placement/placement.hpp"
#include "sim/hf_config.hpp"
#include "models/routing/router.hpp"
#include "models/scores/score_source.hpp"
#include "sim/default_scenario.hpp"
#include "sim/spec_fields.hpp"

namespace moesim {


using nlohmann::json;

namespace {

// A path as written in a scenario, resolved against the scenario file's folder.
std::string path_beside(const std::string& scenario_path, const std::string& path);

class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const std::string& path, const std::string& problem) const {
    throw InputError(source_ + ": " + path + ": " + problem);
  }
  [[noreturn]] void fail_value(const std::string& path, const json& value, const std::string& expected) const {
    fail(path, value.dump() + ": expected " + expected);
  }

  const json& object_at(const json& parent, const std::string& key, const std::string& path) const {
    if (!parent.contains(key)) fail(path, "missing; expected an object");
    const json& value = parent.at(key);
    if (!value.is_object()) fail_value(path, value, "an object");
    return value;
  }

  ParamValue to_param(const json& value, const ParamSpec& spec, const std::string& path) const {
    ParamValue v;
    if (value.is_number()) v = value.get<double>();
    else if (value.is_string()) v = value.get<std::string>();
    else if (value.is_boolean()) v = value.get<bool>();
    else if (value.is_array() && spec.kind == ParamKind::CHOICE_LIST) {
      std::vector<std::string> list;
      for (size_t i = 0; i < value.size(); ++i) {
        if (!value[i].is_string()) fail_value(path + "/" + std::to_string(i), value[i], spec.type_name());
        list.push_back(value[i].get<std::string>());
      }
      v = std::move(list);
    } else if (value.is_array()) {
      std::vector<double> list;
      for (size_t i = 0; i < value.size(); ++i) {
        if (!value[i].is_number()) fail_value(path + "/" + std::to_string(i), value[i], "a number");
        list.push_back(value[i].get<double>());
      }
      v = std::move(list);
    } else if (!value.is_null()) fail_value(path, value, spec.type_name());
    const std::string problem = spec.check(v);
    if (!problem.empty()) fail_value(path, value, problem);
    return v;
  }

  void reject_unknown_keys(const json& object, const std::string& path, const std::vector<std::string>& known) const {
    for (const auto& [key, value] : object.items()) {
      if (std::find(known.begin(), known.end(), key) != known.end()) continue;
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      fail(path + "/" + key, "unknown key; expected one of: " + list);
    }
  }

  // Start from the named preset (if any), then apply every other key as an override.
  template <class Spec>
  Spec read_spec(const json& object, const std::string& path, const Registry<Spec>* presets,
                 const FieldTable<Spec>& fields, Spec spec = {}, std::vector<std::string> known = {}) const {
    if (presets) known.insert(known.begin(), "preset");
    for (const auto& f : fields) known.push_back(f.spec.name);
    reject_unknown_keys(object, path, known);
    if (presets && object.contains("preset")) spec = lookup(*presets, object.at("preset"), path + "/preset");
    for (const auto& field : fields) {
      if (!object.contains(field.spec.name)) continue;
      const std::string field_path = path + "/" + field.spec.name;
      ParamValue value = to_param(object.at(field.spec.name), field.spec, field_path);
      check_reference(field.spec.name, object.at(field.spec.name), field_path);
      field.set(spec, value);
    }
    return spec;
  }

  template <class Entry>
  const Entry& lookup(const Registry<Entry>& registry, const json& name, const std::string& path) const {
    if (!name.is_string()) fail_value(path, name, "a " + registry.kind() + " name");
    const Entry* entry = registry.find(name.get<std::string>());
    if (!entry) fail_value(path, name, "a known " + registry.kind() + ": " + registry.names_joined());
    return *entry;
  }

  // A component section: {"<name_key>": "<registered name>", <declared params>...}.
  template <class Factory>
  ComponentChoice read_component(const json& object, const std::string& path, const std::string& name_key,
                                 const Registry<Component<Factory>>& registry, const std::string& default_name) const {
    ComponentChoice choice;
    choice.name = default_name;
    if (object.contains(name_key)) {
      lookup(registry, object.at(name_key), path + "/" + name_key);
      choice.name = object.at(name_key).get<std::string>();
    }
    const auto& component = *registry.find(choice.name);
    std::vector<std::string> known{name_key};
    for (const auto& p : component.params) known.push_back(p.name);
    reject_unknown_keys(object, path, known);
    std::map<std::string, ParamValue> values;
    for (const auto& p : component.params) {
      if (p.kind == ParamKind::PATH && !object.contains(p.name)) fail(path + "/" + p.name, "missing; expected " + p.help);
      values[p.name] = object.contains(p.name) ? to_param(object.at(p.name), p, path + "/" + p.name) : p.default_value;
      if (p.kind == ParamKind::PATH) values[p.name] = path_beside(source_, std::get<std::string>(values[p.name]));
    }
    choice.params = Params(std::move(values));
    return choice;
  }

  const std::string& source() const { return source_; }

 private:
  // Keys whose string names a registry entry are checked against it.
  void check_reference(const std::string& key, const json& value, const std::string& path) const {
    if (key == "gpu") lookup(gpu_presets(), value, path);
  }

  std::string source_;
};

json parse_json(const std::string& text, const std::string& source) {
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    // Turn nlohmann's byte offset into a line and column.
    size_t line = 1, column = 1;
    for (size_t i = 0; i + 1 < e.byte && i < text.size(); ++i) {
      if (text[i] == '\n') line++, column = 1;
      else column++;
    }
    std::string reason = e.what();
    if (auto pos = reason.find("syntax error"); pos != std::string::npos) reason = reason.substr(pos);
    throw InputError(source + ": line " + std::to_string(line) + ", column " + std::to_string(column) +
                     ": malformed JSON: " + reason);
  } catch (const json::exception& e) {
    // E.g. a number beyond the range of a double (found by fuzzing); no position is known.
    std::string reason = e.what();
    if (auto pos = reason.find("] "); pos != std::string::npos) reason = reason.substr(pos + 2);
    throw InputError(source + ": malformed JSON: " + reason);
  }
}

void validate_cluster(const Reader& r, const ClusterSpec& c) {
  if (c.gpu.peak_bf16_flops <= 0) r.fail("/cluster", "no GPU; expected \"preset\" or \"gpu\" (" + gpu_presets().names_joined() + ")");
  if (c.nvlink_Bps <= 0) r.fail("/cluster/nvlink_GBps", "missing; expected a number > 0");
  if (c.nodes > 1 && c.nic_Bps <= 0) r.fail("/cluster/nic_GBps", "missing; expected a number > 0 for a multi-node cluster");
}

// FP8 attention runs inside an FP8 recipe (Transformer Engine applies fp8_dot_product_attention
// under its FP8 autocast only) and is priced by the GPU's measured FP8 attention rates.
void validate_attention_dtype(const Reader& r, const ModelSpec& m, const ClusterSpec& c) {
  if (m.attention_dtype == AttentionDtype::BF16) return;
  const std::string name(attention_dtype_name(m.attention_dtype));
  if (m.compute_dtype != Dtype::FP8)
    r.fail("/model/attention_dtype", "\"" + name + "\": FP8 attention needs compute_dtype \"fp8\" (an FP8 recipe)");
  if (c.gpu.attention_efficiency(m.attention_dtype, false) <= 0 || c.gpu.attention_efficiency(m.attention_dtype, true) <= 0)
    r.fail("/model/attention_dtype", "\"" + name + "\": no " + name + " attention rates for GPU " + c.gpu.name +
                                         "; set cluster.attention_" + name + "_forward_efficiency and _backward_efficiency");
}

void validate_model(const Reader& r, const ModelSpec& m) {
  const auto fail_if = [&](bool bad, const std::string& key, long value, const std::string& expected) {
    if (bad) r.fail("/model/" + key, std::to_string(value) + ": expected " + expected);
  };
  fail_if(m.layers <= 0, "layers", m.layers, "an integer >= 1");
  fail_if(m.d_model <= 0, "d_model", m.d_model, "an integer >= 1");
  fail_if(m.experts <= 0, "experts", m.experts, "an integer >= 1");
  fail_if(m.d_ffn_expert <= 0, "d_ffn_expert", m.d_ffn_expert, "an integer >= 1");
  fail_if(m.top_k <= 0 || m.top_k > m.experts, "top_k", m.top_k, "1 <= top_k <= experts=" + std::to_string(m.experts));
  fail_if(m.first_dense_layers > m.layers, "first_dense_layers", m.first_dense_layers,
          "at most layers=" + std::to_string(m.layers));
  fail_if(m.moe_layers() == 0 && m.moe_layer_interval > 0 && m.first_dense_layers < m.layers, "moe_layer_interval",
          m.moe_layer_interval, "an interval that leaves at least one MoE layer (or 0 for a dense model)");
  fail_if(m.vocab <= 0, "vocab", m.vocab, "an integer >= 1");
  if (m.glu_clamp != "none" && !m.gated_ffn)
    r.fail("/model/glu_clamp", "\"" + m.glu_clamp + "\": a clamp of the gated activation needs gated_ffn true");
  fail_if(m.token_moe_channels > 0 && (m.token_mixing_hidden <= 0 || m.default_seq_len <= 0), "token_moe_channels",
          m.token_moe_channels, "0 unless token_mixing_hidden and default_seq_len (the patches) are set");
  fail_if(m.token_mixing_hidden > 0 && m.default_seq_len <= 0, "token_mixing_hidden", m.token_mixing_hidden,
          "0 unless default_seq_len (the patches the token MLP mixes) is set");
  if (m.token_mixing_hidden > 0) return;  // all-MLP: no attention to check
  const AttentionSpec& a = m.attention;
  fail_if(a.heads <= 0, "heads", a.heads, "an integer >= 1");
  if (a.kind == AttentionKind::GQA) {
    fail_if(a.head_dim <= 0, "head_dim", a.head_dim, "an integer >= 1 for gqa attention");
    fail_if(a.kv_heads <= 0 || a.heads % a.kv_heads != 0, "kv_heads", a.kv_heads,
            "a divisor of heads=" + std::to_string(a.heads));
  } else {
    fail_if(a.kv_lora_rank <= 0, "kv_lora_rank", a.kv_lora_rank, "an integer >= 1 for mla attention");
    fail_if(a.qk_nope_head_dim <= 0, "qk_nope_head_dim", a.qk_nope_head_dim, "an integer >= 1 for mla attention");
    fail_if(a.v_head_dim <= 0, "v_head_dim", a.v_head_dim, "an integer >= 1 for mla attention");
  }
}

// A relative path in a scenario is relative to the scenario file's folder.
std::string path_beside(const std::string& scenario_path, const std::string& path) {
  const std::filesystem::path p(path);
  if (p.is_absolute()) return path;
  return (std::filesystem::path(scenario_path).parent_path() / p).lexically_normal().string();
}

// The model section: a preset, or a Hugging Face config.json (hf_config), then overrides.
ModelSpec read_model(const Reader& r, const json& object, const std::string& source) {
  if (!object.contains("hf_config"))
    return r.read_spec(object, "/model", &model_presets(), model_fields(), ModelSpec{}, {"hf_config"});
  const json& path = object.at("hf_config");
  if (!path.is_string() || path.get<std::string>().empty())
    r.fail_value("/model/hf_config", path, "the path of a Hugging Face config.json, relative to the scenario file");
  if (object.contains("preset")) r.fail("/model/preset", "give either preset or hf_config, not both");
  const ModelSpec from_config = read_hf_config(path_beside(source, path.get<std::string>()));
  json overrides = object;
  overrides.erase("hf_config");
  return r.read_spec<ModelSpec>(overrides, "/model", nullptr, model_fields(), from_config);
}

Scenario read_scenario(const json& doc, const std::string& source) {
  const Reader r(source);
  if (!doc.is_object()) r.fail_value("/", doc, "an object with cluster, model, plan, router, scores, placement, sim");
  std::vector<std::string> sections;
  for (const auto& section : scenario_sections()) sections.push_back(section.key);
  r.reject_unknown_keys(doc, "", sections);
  Scenario s;
  s.source = source;
  if (doc.contains("name")) {
    if (!doc.at("name").is_string()) r.fail_value("/name", doc.at("name"), "a string");
    s.name = doc.at("name").get<std::string>();
  }
  s.cluster = r.read_spec(r.object_at(doc, "cluster", "/cluster"), "/cluster", &cluster_presets(), cluster_fields());
  if (doc.contains("profile")) {
    // Measured figures replace the presets' efficiency factors (hardware/kernel_profile.hpp).
    const json& v = doc.at("profile");
    if (!v.is_string() || v.get<std::string>().empty()) r.fail_value("/profile", v, "the path of a moesim-profile/1 file");
    s.profile = path_beside(source, v.get<std::string>());
    s.cluster = apply_profile(s.cluster, read_kernel_profile(s.profile), s.source + ": /profile: " + s.profile);
  }
  validate_cluster(r, s.cluster);
  s.model = read_model(r, r.object_at(doc, "model", "/model"), source);
  validate_model(r, s.model);
  validate_attention_dtype(r, s.model, s.cluster);
  s.plan = r.read_spec<ParallelPlan>(r.object_at(doc, "plan", "/plan"), "/plan", nullptr, plan_fields());
  if (s.plan.seq_len == 0) s.plan.seq_len = s.model.default_seq_len;
  if (s.plan.seq_len <= 0) r.fail("/plan/seq_len", "missing; expected an integer >= 1 (the model has no default)");
  if (PlanProblem problem = plan_problem(s.plan, s.model, s.cluster))
    r.fail("/plan" + (problem.key.empty() ? "" : "/" + problem.key), problem.sentence);

  const json empty = json::object();
  const auto section = [&](const char* key) -> const json& {
    return doc.contains(key) ? r.object_at(doc, key, std::string("/") + key) : empty;
  };
  s.router = r.read_component(section("router"), "/router", "policy", router_policies(), "topk");
  s.scores = r.read_component(section("scores"), "/scores", "source", score_sources(), "dirichlet");
  s.placement = r.read_component(section("placement"), "/placement", "strategy", placement_strategies(), "contiguous");
  s.sim = r.read_spec<SimSpec>(section("sim"), "/sim", nullptr, sim_fields());
  return s;
}

}  // namespace

const std::vector<ScenarioSection>& scenario_sections() {
  static const std::vector<ScenarioSection> sections = {
      {"name", "a title for the run (string), echoed in the summary and result.json"},
      {"profile", "path of a moesim-profile/1 calibration profile, relative to the scenario file"},
      {"cluster", "the GPUs and the fabric: a preset name and overrides of its fields"},
      {"model", "the MoE model: a preset name and overrides of its fields"},
      {"plan", "the parallelism plan and batch"},
      {"router", "the router policy (policy) and its parameters"},
      {"scores", "where router scores come from (source) and its parameters"},
      {"placement", "the expert placement (strategy) and its parameters"},
      {"sim", "the engine and how much is simulated token by token"},
  };
  return sections;
}

Scenario parse_scenario(const std::string& text, const std::string& source) {
  return read_scenario(parse_json(text, source), source);
}

Scenario load_scenario_file(const std::string& path) {
  return parse_scenario(read_input_file(path, "scenario file"), path);
}

Scenario default_scenario() { return parse_scenario(default_scenario_json(), DEFAULT_SCENARIO_NAME); }

}  // namespace moesim
