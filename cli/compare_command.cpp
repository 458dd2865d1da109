#include "cli/compare_command.hpp"

#include <filesystem>
#include <functional>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "hardware/input_error.hpp"
#include "hardware/input_file.hpp"
#include "sim/default_scenario.hpp"
#include "sim/multi_step.hpp"
#include "sim/progress.hpp"
#include "sim/report_html.hpp"
#include "sim/svg.hpp"
#include "validation/text_table.hpp"

namespace moesim {

const char* const ROUTERS_USAGE =
    "moesim routers [SCENARIO] --policies P[,P...] [--steps N] [--out DIR]\n"
    "  P is a router policy with optional parameters: topk:capacity_factor=1.0:drop_order=probs\n";
const char* const PLACE_USAGE =
    "moesim place [SCENARIO] --strategies S[,S...] [--steps N] [--out DIR]\n"
    "  S is a placement strategy with optional parameters: eplb_global:redundant=16\n";

namespace {

using json = nlohmann::json;

struct Kind {
  const char* option;    // --policies
  const char* section;   // router
  const char* name_key;  // policy
  const char* file;      // routers
  const char* usage;
};

Kind kind_of(CompareWhat what) {
  return what == CompareWhat::ROUTERS ? Kind{"--policies", "router", "policy", "routers", ROUTERS_USAGE}
                                      : Kind{"--strategies", "placement", "strategy", "place", PLACE_USAGE};
}

struct Args {
  std::string scenario;
  std::vector<std::string> choices;
  std::optional<int> steps;
  std::string out_dir;
};

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t end; (end = text.find(separator, start)) != std::string::npos; start = end + 1)
    parts.push_back(text.substr(start, end - start));
  parts.push_back(text.substr(start));
  return parts;
}

Args parse_args(const Kind& kind, const std::vector<std::string>& args) {
  Args a;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == kind.option) {
      for (const std::string& choice : split(option_value(args, i), ','))
        if (!choice.empty()) a.choices.push_back(choice);
    } else if (arg == "--steps") {
      a.steps = whole_number(option_value(args, i), "--steps", 1);
    } else if (arg == "--out") {
      a.out_dir = option_value(args, i);
    } else if (arg.rfind("--", 0) == 0) {
      throw CommandUsageError("unknown option " + arg);
    } else if (a.scenario.empty()) {
      a.scenario = arg;
    } else {
      throw CommandUsageError("more than one scenario given: " + a.scenario + ", " + arg);
    }
  }
  if (a.choices.empty()) throw CommandUsageError(std::string(kind.option) + " is required");
  return a;
}

// "name:key=value:..." -> {"<name_key>": name, key: value, ...}; values are JSON literals
// (numbers, null, true, false) or else strings.
json choice_section(const Kind& kind, const std::string& choice) {
  const std::vector<std::string> parts = split(choice, ':');
  json section = {{kind.name_key, parts[0]}};
  for (size_t i = 1; i < parts.size(); ++i) {
    const size_t eq = parts[i].find('=');
    if (eq == std::string::npos || eq == 0)
      throw CommandUsageError(std::string(kind.option) + " " + choice + ": '" + parts[i] + "' is not key=value");
    const std::string key = parts[i].substr(0, eq), text = parts[i].substr(eq + 1);
    json value = json::parse(text, nullptr, false);
    section[key] = value.is_discarded() || value.is_object() || value.is_array() ? json(text) : value;
  }
  return section;
}

json row_json(const StepSeriesSummary& r) {
  return {{"name", r.name},
          {"drop_rate", r.drop_rate},
          {"unrouted_rate", r.unrouted_rate},
          {"expert_max_over_mean", r.expert_max_over_mean},
          {"rank_max_over_mean", r.rank_max_over_mean},
          {"a2a_bytes_intra", r.a2a_bytes_intra},
          {"a2a_bytes_inter", r.a2a_bytes_inter},
          {"step_time_p50_s", r.step_time_p50_s},
          {"step_time_p99_s", r.step_time_p99_s},
          {"migration_s", r.migration_s},
          {"step_time_s", r.step_time_s}};
}

const char* const CSV_COLUMNS[] = {"name", "drop_rate", "unrouted_rate", "expert_max_over_mean", "rank_max_over_mean",
                                   "a2a_bytes_intra", "a2a_bytes_inter", "step_time_p50_s", "step_time_p99_s",
                                   "migration_s"};

std::string comparison_html(const Kind& kind, const std::vector<StepSeriesSummary>& rows, int steps,
                            const std::string& scenario);

void write_rows(const Kind& kind, const std::vector<StepSeriesSummary>& rows, int steps, const std::string& scenario,
                const std::string& dir, std::ostream& out) {
  std::filesystem::create_directories(dir);
  const auto path = [&](const char* ext) { return (std::filesystem::path(dir) / (std::string(kind.file) + ext)).string(); };
  json list = json::array();
  for (const auto& r : rows) list.push_back(row_json(r));
  std::ofstream json_file(path(".json"));
  json_file << list.dump(2) << "\n";
  std::ofstream csv(path(".csv"));
  for (const char* column : CSV_COLUMNS) csv << (column == CSV_COLUMNS[0] ? "" : ",") << column;
  csv << "\n";
  for (const json& row : list) {
    for (const char* column : CSV_COLUMNS) {
      if (column != CSV_COLUMNS[0]) csv << ",";
      if (row[column].is_string()) csv << '"' << row[column].get<std::string>() << '"';
      else csv << row[column].dump();
    }
    csv << "\n";
  }
  std::ofstream html((std::filesystem::path(dir) / "report.html").string());
  html << comparison_html(kind, rows, steps, scenario);
  if (!json_file || !csv || !html) throw std::runtime_error(dir + ": cannot write the " + kind.file + " files");
  out << "\nwrote " << path(".json") << "\n      " << path(".csv") << "\n      "
      << (std::filesystem::path(dir) / "report.html").string() << "\n";
}

// One horizontal bar per choice for each compared figure, in a page like report.html's.
std::string comparison_html(const Kind& kind, const std::vector<StepSeriesSummary>& rows, int steps,
                            const std::string& scenario) {
  struct Metric {
    const char* id;
    const char* title;
    const char* unit;
    std::function<double(const StepSeriesSummary&)> value;
  };
  const Metric metrics[] = {
      {"drop", "dropped assignments", "%", [](const auto& r) { return 100 * r.drop_rate; }},
      {"unrouted", "tokens that reached no expert", "%", [](const auto& r) { return 100 * r.unrouted_rate; }},
      {"expert-balance", "expert load, max/mean", "x", [](const auto& r) { return r.expert_max_over_mean; }},
      {"rank-balance", "rows per GPU, max/mean", "x", [](const auto& r) { return r.rank_max_over_mean; }},
      {"a2a-intra", "all-to-all bytes inside nodes per step", "GB", [](const auto& r) { return r.a2a_bytes_intra / 1e9; }},
      {"a2a-inter", "all-to-all bytes between nodes per step", "GB", [](const auto& r) { return r.a2a_bytes_inter / 1e9; }},
      {"step-p50", "step time, median over steps", "ms", [](const auto& r) { return 1e3 * r.step_time_p50_s; }},
      {"step-p99", "step time, 99th percentile over steps", "ms", [](const auto& r) { return 1e3 * r.step_time_p99_s; }},
  };
  std::string body = "<section><p>" + svg::escape(scenario) + ": " + std::to_string(rows.size()) + " choices, " +
                     std::to_string(steps) + " step(s) each, analytic estimator.</p></section>\n";
  for (const Metric& m : metrics) {
    double most = 0;
    for (const auto& r : rows) most = std::max(most, m.value(r));
    svg::Canvas c(std::string("chart-") + m.id, 720, 20 + 22 * rows.size() + 10);
    for (size_t i = 0; i < rows.size(); ++i) {
      const double v = m.value(rows[i]), y = 10 + 22 * i;
      c.text(250, y + 13, rows[i].name.size() > 40 ? rows[i].name.substr(0, 39) + "…" : rows[i].name, "end", 10);
      c.rect(256, y, most > 0 ? 380 * v / most : 0, 16, svg::category(i), rows[i].name + ": " + svg::number(v, 3) + " " + m.unit);
      c.rect(255, y, 1, 16, "#999");  // the baseline, visible when a value is 0
      c.text(260 + (most > 0 ? 380 * v / most : 0), y + 13, svg::number(v, v < 10 ? 3 : 1) + " " + m.unit, "start", 10);
    }
    body += "<section><h2>" + std::string(m.title) + "</h2>" + c.str() + "</section>\n";
  }
  return html_page(std::string("moesim ") + kind.file + ": " + scenario, body);
}

void print_rows(const std::vector<StepSeriesSummary>& rows, int steps, std::ostream& out) {
  using namespace text;
  size_t width = 6;
  for (const auto& r : rows) width = std::max(width, r.name.size() + 2);
  out << pad("choice", width) << lpad("drop %", 8) << lpad("unrouted %", 11) << lpad("expert max/mean", 16)
      << lpad("GPU max/mean", 13) << lpad("a2a intra GB", 13) << lpad("a2a inter GB", 13) << lpad("step p50 ms", 12)
      << lpad("step p99 ms", 12) << "\n";
  for (const auto& r : rows)
    out << pad(r.name, width) << lpad(fixed(100 * r.drop_rate, 2), 8) << lpad(fixed(100 * r.unrouted_rate, 2), 11)
        << lpad(fixed(r.expert_max_over_mean, 2), 16) << lpad(fixed(r.rank_max_over_mean, 2), 13)
        << lpad(fixed(r.a2a_bytes_intra / 1e9, 2), 13) << lpad(fixed(r.a2a_bytes_inter / 1e9, 2), 13)
        << lpad(fixed(1e3 * r.step_time_p50_s, 2), 12) << lpad(fixed(1e3 * r.step_time_p99_s, 2), 12) << "\n";
  out << "\n" << steps << " step" << (steps > 1 ? "s" : "")
      << " each, analytic estimator; a2a bytes per step, cluster-wide, dispatch + combine forward and backward\n";
}

}  // namespace

int compare_command(CompareWhat what, const std::vector<std::string>& arguments, std::ostream& out) {
  const Kind kind = kind_of(what);
  const Args a = parse_args(kind, arguments);
  const std::string source = a.scenario.empty() ? DEFAULT_SCENARIO_NAME : a.scenario;
  const std::string text = a.scenario.empty() ? default_scenario_json() : read_input_file(a.scenario, "scenario file");
  json base;
  try {
    base = json::parse(text);
  } catch (const json::exception&) {
    parse_scenario(text, source);  // reports the syntax error with its line and column
    throw;
  }
  if (!base.is_object()) parse_scenario(text, source);
  std::vector<StepSeriesSummary> rows;
  int steps = 1;
  ProgressLine progress(kind.file, double(a.choices.size()));
  for (size_t c = 0; c < a.choices.size(); ++c) {
    const std::string& choice = a.choices[c];
    json doc = base;
    doc[kind.section] = choice_section(kind, choice);
    if (a.steps) doc["sim"]["steps"] = *a.steps;
    Scenario s;
    try {
      s = parse_scenario(doc.dump(), source);
    } catch (const InputError& e) {
      throw InputError(std::string(kind.option) + " " + choice + ": " + e.what());
    }
    steps = s.sim.steps;
    rows.push_back(run_steps(s, choice, [&](int step, int n) {
      progress.update(c + double(step) / n, choice + " step " + std::to_string(step + 1) + "/" + std::to_string(n));
    }));
  }
  progress.finish();
  print_rows(rows, steps, out);
  if (!a.out_dir.empty()) write_rows(kind, rows, steps, source, a.out_dir, out);
  return 0;
}

}  // namespace moesim
