#include "validation/validate/dataset.hpp"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "hardware/input_error.hpp"
#include "hardware/input_file.hpp"

namespace moesim::validation {

using json = nlohmann::json;

double PointParams::number(const std::string& key) const {
  if (!has(key)) throw InputError(where_ + "/" + key + ": missing; expected a number");
  if (!p_.at(key).is_number()) throw InputError(where_ + "/" + key + ": expected a number, got " + p_.at(key).dump());
  return p_.at(key).get<double>();
}

double PointParams::positive(const std::string& key, double max) const {
  const double v = number(key);
  if (!(v > 0 && v <= max))
    throw InputError(where_ + "/" + key + ": " + p_.at(key).dump() + "; expected a number in (0, " + json(max).dump() + "]");
  return v;
}

int PointParams::whole(const std::string& key, int min, int max) const {
  const double v = number(key);
  if (!(v >= min && v <= max) || v != double(int(v)))
    throw InputError(where_ + "/" + key + ": " + p_.at(key).dump() + "; expected an integer in [" + std::to_string(min) +
                     ", " + std::to_string(max) + "]");
  return int(v);
}

std::optional<double> PointParams::optional_number(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  return number(key);
}

std::string PointParams::text(const std::string& key) const {
  if (!has(key)) return "";
  if (!p_.at(key).is_string()) throw InputError(where_ + "/" + key + ": expected a string, got " + p_.at(key).dump());
  return p_.at(key).get<std::string>();
}

PointParams PointParams::object(const std::string& key) const {
  if (!has(key) || !p_.at(key).is_object()) throw InputError(where_ + "/" + key + ": missing; expected an object");
  return PointParams(p_.at(key), where_ + "/" + key);
}

bool PointParams::flag(const std::string& key, bool absent) const {
  if (!has(key)) return absent;
  if (!p_.at(key).is_boolean()) throw InputError(where_ + "/" + key + ": expected true or false, got " + p_.at(key).dump());
  return p_.at(key).get<bool>();
}

std::vector<std::string> PointParams::texts(const std::string& key) const {
  if (!has(key)) return {};
  const json& v = p_.at(key);
  const bool strings = v.is_array() && std::all_of(v.begin(), v.end(), [](const json& e) { return e.is_string(); });
  if (!strings) throw InputError(where_ + "/" + key + ": expected a list of strings, got " + v.dump());
  return v.get<std::vector<std::string>>();
}

std::vector<int> PointParams::wholes(const std::string& key, int min, int max) const {
  if (!has(key)) return {};
  const json& v = p_.at(key);
  const bool fit = v.is_array() && std::all_of(v.begin(), v.end(), [&](const json& e) {
    return e.is_number_integer() && e.get<int64_t>() >= min && e.get<int64_t>() <= max;
  });
  if (!fit)
    throw InputError(where_ + "/" + key + ": expected a list of whole numbers in [" + std::to_string(min) + ", " +
                     std::to_string(max) + "], got " + v.dump());
  return v.get<std::vector<int>>();
}

std::vector<std::string> PointParams::keys() const {
  std::vector<std::string> out;
  for (const auto& [key, value] : p_.items()) out.push_back(key);
  return out;
}

namespace {

std::string text_at(const json& obj, const std::string& key, const std::string& where, bool required) {
  if (!obj.contains(key) || obj.at(key).is_null()) {
    if (required) throw InputError(where + "/" + key + ": missing; expected a string");
    return "";
  }
  if (!obj.at(key).is_string()) throw InputError(where + "/" + key + ": expected a string, got " + obj.at(key).dump());
  return obj.at(key).get<std::string>();
}

std::optional<double> number_at(const json& obj, const std::string& key, const std::string& where) {
  if (!obj.is_object() || !obj.contains(key) || obj.at(key).is_null()) return std::nullopt;
  if (!obj.at(key).is_number()) throw InputError(where + "/" + key + ": expected a number or null, got " + obj.at(key).dump());
  return obj.at(key).get<double>();
}

PointCluster read_cluster(const json& c, const std::string& where) {
  PointCluster out;
  if (c.is_null()) return out;
  if (!c.is_object()) throw InputError(where + ": expected an object or null");
  out.gpu = text_at(c, "gpu", where, true);
  out.nodes = int(number_at(c, "nodes", where).value_or(0));
  out.gpus_per_node = int(number_at(c, "gpus_per_node", where).value_or(0));
  if (c.contains("intra_node") && c.at("intra_node").is_object()) {
    out.intra_node_kind = text_at(c.at("intra_node"), "kind", where + "/intra_node", false);
    if (auto v = number_at(c.at("intra_node"), "GBps_per_gpu", where + "/intra_node")) out.intra_node_Bps = *v * 1e9;
  }
  if (c.contains("nic") && c.at("nic").is_object())
    if (auto v = number_at(c.at("nic"), "GBps_per_gpu", where + "/nic")) out.nic_Bps = *v * 1e9;
  return out;
}

}  // namespace

namespace {

std::vector<ValidationPoint> parse_dataset_document(const std::string& text, const std::string& source) {
  const json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded()) throw InputError(source + ": not valid JSON");
  if (!doc.is_object() || !doc.contains("schema") || doc.at("schema") != "moesim-validation/1")
    throw InputError(source + ": /schema: expected \"moesim-validation/1\"");
  if (!doc.contains("points") || !doc.at("points").is_array()) throw InputError(source + ": /points: missing; expected a list");
  std::vector<ValidationPoint> out;
  std::set<std::string> ids;
  const json& points = doc.at("points");
  for (size_t i = 0; i < points.size(); ++i) {
    const std::string where = source + ": /points/" + std::to_string(i);
    const json& p = points[i];
    if (!p.is_object()) throw InputError(where + ": expected an object");
    ValidationPoint v;
    v.id = text_at(p, "id", where, true);
    if (!ids.insert(v.id).second) throw InputError(where + "/id: \"" + v.id + "\" appears twice");
    v.family = text_at(p, "family", where, true);
    v.op = text_at(p, "op", where, true);
    v.kind = text_at(p, "kind", where, false);
    v.confidence = text_at(p, "confidence", where, false);
    v.cluster = read_cluster(p.contains("cluster") ? p.at("cluster") : json(), where + "/cluster");
    if (!p.contains("params") || !p.at("params").is_object()) throw InputError(where + "/params: missing; expected an object");
    v.params = PointParams(p.at("params"), where + "/params");
    if (!p.contains("metric") || !p.at("metric").is_object()) throw InputError(where + "/metric: missing; expected an object");
    const json& m = p.at("metric");
    v.metric.name = text_at(m, "name", where + "/metric", true);
    v.metric.unit = text_at(m, "unit", where + "/metric", false);
    v.metric.definition = text_at(m, "definition", where + "/metric", false);
    const auto value = number_at(m, "value", where + "/metric");
    if (v.op != "routing_stats" && !value) throw InputError(where + "/metric/value: missing; expected a number");
    v.metric.value = value.value_or(0);
    v.time_us = number_at(p, "time_us", where);
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace

std::vector<ValidationPoint> parse_validation_dataset(const std::string& text, const std::string& source) {
  try {
    return parse_dataset_document(text, source);
  } catch (const json::exception& e) {  // a safety net behind the checks: still names the file
    throw InputError(source + ": " + e.what());
  }
}

std::vector<ValidationPoint> read_validation_dataset(const std::string& path) {
  return parse_validation_dataset(read_input_file(path, "validation dataset"), path);
}

}  // namespace moesim::validation
