#pragma once
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hardware/cluster.hpp"

namespace moesim::validation {

// The cluster a point was measured on, as the dataset states it.
struct PointCluster {
  std::string gpu;                       // "H100", "H800", ...
  int nodes = 0;                         // 0: not stated
  int gpus_per_node = 0;
  std::string intra_node_kind;           // nvlink, nvl72, none, ...
  std::optional<double> intra_node_Bps;  // per GPU, when stated
  std::optional<double> nic_Bps;
};

// One point's parameters: typed getters that name the point and key when a value is
// missing or of the wrong type (the only place validation reads the dataset's JSON).
class PointParams {
 public:
  PointParams(nlohmann::json params, std::string where) : p_(std::move(params)), where_(std::move(where)) {}
  double number(const std::string& key) const;
  // A number > 0 (and <= max): sizes, counts. Throws naming the key otherwise.
  double positive(const std::string& key, double max = 1e18) const;
  int whole(const std::string& key, int min, int max) const;  // an integer in [min, max]
  std::optional<double> optional_number(const std::string& key) const;
  std::string text(const std::string& key) const;  // "" when absent or null
  bool has(const std::string& key) const { return p_.contains(key) && !p_.at(key).is_null(); }
  PointParams object(const std::string& key) const;
  bool flag(const std::string& key, bool absent) const;            // a boolean; `absent` when missing
  std::vector<std::string> texts(const std::string& key) const;  // a list of strings; empty when missing
  std::vector<int> wholes(const std::string& key, int min, int max) const;  // integers in [min, max]; empty when missing
  std::vector<std::string> keys() const;
  const std::string& where() const { return where_; }

 private:
  nlohmann::json p_;
  std::string where_;
};

struct Metric {
  std::string name;  // time_us, tflops, bandwidth_GBps, busbw_GBps, bandwidth_TBps, tokens_per_s_per_gpu, ...
  double value = 0;
  std::string unit;
  std::string definition;  // how the source computed it, as written
};

struct ValidationPoint {
  std::string id, family, op, kind, confidence;
  PointCluster cluster;
  PointParams params{nlohmann::json::object(), ""};
  Metric metric;
  std::optional<double> time_us;  // the kernel or step time, where the published number fixes it
};

// Reads a `moesim-validation/1` file; errors name the file and JSON path.
std::vector<ValidationPoint> read_validation_dataset(const std::string& path);
std::vector<ValidationPoint> parse_validation_dataset(const std::string& text, const std::string& source);

}  // namespace moesim::validation
