// Routing statistics of real models (expert-load balance and the share of assignments a
// capacity would drop), predicted by routing tokens with the `measured` score source. That
// source is fitted to the same aggregate top-k counts the top-k statistics come from, so those
// points check the fit (in-sample); the top-1 statistics are predictions (the fit never sees
// first choices alone). Models without measured counts (DeepSeek-V3) are unsupported.
#include <algorithm>
#include <cmath>

#include "models/model.hpp"
#include "models/scores/score_source.hpp"
#include "validation/validate/predict.hpp"

namespace moesim::validation {

namespace {

constexpr int TOKENS_PER_DOMAIN = 100000;

const char* model_preset_of(const std::string& model) {
  if (model == "OLMoE-1B-7B") return "olmoe-1b-7b";
  if (model == "Mixtral-8x7B") return "mixtral-8x7b";
  return nullptr;
}

// Per-expert counts of routed tokens: all top-k choices, or the first choice only.
std::vector<double> routed_counts(const char* preset, const std::vector<std::string>& domains, int layer, bool first_only) {
  const ModelSpec& model = *model_presets().find(preset);
  std::vector<double> counts(model.experts, 0);
  for (const std::string& domain : domains) {
    const auto& component = *score_sources().find("measured");
    std::map<std::string, ParamValue> values;
    for (const auto& spec : component.params) values[spec.name] = spec.default_value;
    values["fit"] = std::string(preset);
    values["domain"] = domain;
    const auto source = component.make(Params(values), model);
    TokenChoices ch;
    source->top_choices({layer, 0, 0, 0}, TOKENS_PER_DOMAIN, model.top_k, false, ch);
    for (int t = 0; t < ch.tokens; ++t)
      for (int c = 0; c < (first_only ? 1 : ch.top_k); ++c) counts[ch.expert[size_t(t) * ch.top_k + c]] += 1;
  }
  return counts;
}

}  // namespace

Prediction predict_routing_stats(const ValidationPoint& p, const PredictContext&) {
  const std::string model = p.params.text("model");
  const char* preset = model_preset_of(model);
  if (!preset) return unsupported("no measured expert counts of " + model + " to fit a score source to");
  const std::string dataset = p.params.text("dataset");
  std::vector<std::string> domains;
  for (const char* d : {"arxiv", "book", "c4", "github", "wikipedia"})
    if (dataset.find(d) != std::string::npos) domains.push_back(d);
  if (domains.empty()) return unsupported("dataset \"" + dataset + "\" names none of the measured domains");
  const bool first_only = p.metric.definition.find("top-1") != std::string::npos;
  const std::vector<double> n = routed_counts(preset, domains, int(p.params.number("layer")), first_only);
  double total = 0, most = 0, least = 1e300;
  for (double x : n) total += x, most = std::max(most, x), least = std::min(least, x);
  const double mean = total / n.size();
  Prediction out{true, "", 0, 0, ""};
  const std::string statistic = p.params.text("statistic");
  out.note = std::string(first_only ? "predicted: first choices of" : "in-sample: top-k of") +
             " the measured source fitted to these counts, " + std::to_string(TOKENS_PER_DOMAIN) + " tokens per domain";
  if (statistic == "max_over_mean_load") {
    out.metric = most / mean;
  } else if (statistic == "min_over_mean_load") {
    out.metric = least / mean;
  } else if (statistic == "cv_load") {
    double var = 0;
    for (double x : n) var += (x - mean) * (x - mean) / n.size();
    out.metric = std::sqrt(var) / mean;
  } else if (statistic == "assignment_drop_percent") {
    const double cf = p.params.number("capacity_factor");
    double dropped = 0;
    for (double x : n) dropped += std::max(0.0, x - cf * total / n.size());
    out.metric = 100 * dropped / total;
  } else {
    return unsupported("routing statistic \"" + statistic + "\" is not computed");
  }
  return out;
}

}  // namespace moesim::validation
