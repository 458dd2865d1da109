#include "cli/plan_command.hpp"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "sim/plan_search.hpp"
#include "sim/progress.hpp"
#include "sim/report_html.hpp"
#include "sim/svg.hpp"
#include "validation/text_table.hpp"

namespace moesim {

const char* const PLAN_USAGE = "moesim plan [SCENARIO] [--gpus N] [--top K] [--refine R] [--max-cp C] [--out DIR]\n";

namespace {

using json = nlohmann::json;
using text::fixed;
using text::lpad;
using text::pad;

constexpr double GIB = 1024.0 * 1024 * 1024;
// Without --refine: the top 3 plans, as long as their discrete-event runs are estimated to
// take a minute in all (a rack of 64 GB200s takes minutes per run, 2048 GPUs hours).
constexpr int DEFAULT_REFINE = 3;
constexpr double DEFAULT_REFINE_BUDGET_S = 60;

struct Args {
  std::string scenario;
  std::optional<int> gpus;
  int top = 10;
  std::optional<int> refine;
  int max_cp = 0;  // 0: default_max_cp of the scenario's sequence length
  std::string out_dir;
};

Args parse_args(const std::vector<std::string>& args) {
  Args a;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--gpus") a.gpus = whole_number(option_value(args, i), "--gpus", 1);
    else if (arg == "--top") a.top = whole_number(option_value(args, i), "--top", 1);
    else if (arg == "--refine") a.refine = whole_number(option_value(args, i), "--refine", 0);
    else if (arg == "--max-cp") a.max_cp = whole_number(option_value(args, i), "--max-cp", 1);
    else if (arg == "--out") a.out_dir = option_value(args, i);
    else if (arg.rfind("--", 0) == 0) throw CommandUsageError("unknown option " + arg);
    else if (a.scenario.empty()) a.scenario = arg;
    else throw CommandUsageError("more than one scenario given: " + a.scenario + ", " + arg);
  }
  return a;
}

json candidate_json(const PlanSearch& search, size_t i) {
  const PlanCandidate& c = search.ranked[i];
  const ParallelPlan& p = c.plan;
  json j = {{"rank", i + 1},
            {"plan", {{"dp", p.dp}, {"tp", p.tp}, {"cp", p.cp}, {"pp", p.pp}, {"vp", p.vp}, {"ep", p.ep}, {"etp", p.etp},
                      {"micro_batch_size", p.micro_batch_size}, {"micro_batches", p.micro_batches}, {"fsdp", p.fsdp}}},
            {"step_time_s", c.analytic.step_time_s},
            {"mfu", c.analytic.mfu},
            {"tokens_per_s", c.analytic.tokens_per_s},
            {"memory_gib_per_gpu", c.analytic.memory.total_bytes() / GIB},
            {"why", why_it_ranks(search, i)}};
  if (c.des) j["des_step_time_s"] = c.des->step_time_s;
  return j;
}

std::string plan_page(const PlanSearch& search, size_t shown, const std::string& source) {
  svg::Canvas c("chart-plans", 720, 20 + 22 * shown + 10);
  const double most = shown ? search.ranked[shown - 1].analytic.step_time_s : 1;
  for (size_t i = 0; i < shown; ++i) {
    const auto& r = search.ranked[i];
    const double y = 10 + 22 * i;
    std::string label = "#";  // appended, not "#" + ...: g++ 12 warns falsely (-Wrestrict) on that form
    label += std::to_string(i + 1) + " " + plan_label(r.plan);
    c.text(200, y + 13, label, "end", 10);
    double x = 206;
    for (size_t k = 0; k < r.analytic.breakdown_s.size(); ++k) {
      const double w = 440 * r.analytic.breakdown_s[k].second / most;
      c.rect(x, y, w, 16, svg::category(k), r.analytic.breakdown_s[k].first + ": " + svg::number(1e3 * r.analytic.breakdown_s[k].second, 1) + " ms");
      x += w;
    }
    c.text(x + 4, y + 13, svg::number(1e3 * r.analytic.step_time_s, 1) + " ms", "start", 10);
  }
  std::string body = "<section><p>" + svg::escape(source) + ": " + std::to_string(search.enumerated) + " plans enumerated, " +
                     std::to_string(search.ranked.size()) + " run and fit; the fastest " + std::to_string(shown) +
                     " by analytic step time, split into its parts (hover for each).</p></section>\n";
  body += "<section><h2>step time of the top plans</h2>" + c.str() + "</section>\n";
  return html_page("moesim plan: " + source, body);
}

bool same_layout(const ParallelPlan& a, const ParallelPlan& b) {
  return a.dp == b.dp && a.tp == b.tp && a.cp == b.cp && a.pp == b.pp && a.vp == b.vp && a.ep == b.ep && a.etp == b.etp &&
         a.micro_batch_size == b.micro_batch_size;
}

// Where the scenario's own plan (often the one a team runs today) ranks, and against #1 why.
void print_scenario_plan_rank(const PlanSearch& search, const ParallelPlan& own, size_t shown, std::ostream& out) {
  for (size_t i = 0; i < search.ranked.size(); ++i) {
    if (!same_layout(search.ranked[i].plan, own)) continue;
    out << "\nthe scenario's plan, " << plan_label(search.ranked[i].plan) << ", ranks #" << i + 1 << " of "
        << search.ranked.size();
    if (i >= shown) out << ": " << why_it_ranks(search, i);
    out << "\n";
    return;
  }
  out << "\nthe scenario's plan (" << plan_label(own) << ") is not among those that run and fit (see rejected)\n";
}

// The top plans the default refinement left to the analytic engine, and how to run them.
void print_refine_skipped(const PlanSearch& search, std::ostream& out) {
  if (search.refine_skipped.empty()) return;
  out << "\n(no discrete-event run for";
  const char* separator = " ";
  for (const auto& [rank, estimate_s] : search.refine_skipped) {
    out << separator << "#" << rank + 1 << " (about " << fixed(estimate_s, 0) << " s)";
    separator = ", ";
  }
  out << ": over the default budget of " << fixed(DEFAULT_REFINE_BUDGET_S, 0)
      << " s for all; --refine R runs the top R whatever they take)\n";
}
}  // namespace

int plan_command(const std::vector<std::string>& arguments, std::ostream& out) {
  const Args a = parse_args(arguments);
  Scenario s = a.scenario.empty() ? default_scenario() : load_scenario_file(a.scenario);
  if (a.gpus) {
    if (*a.gpus % s.cluster.gpus_per_node != 0)
      throw CommandUsageError("--gpus " + std::to_string(*a.gpus) + ": not a multiple of the " +
                           std::to_string(s.cluster.gpus_per_node) + " GPUs per node");
    s.cluster.nodes = *a.gpus / s.cluster.gpus_per_node;
  }
  PlanSearchOptions options;
  options.refine = a.refine.value_or(DEFAULT_REFINE);
  options.max_cp = a.max_cp;
  if (!a.refine) options.refine_budget_s = DEFAULT_REFINE_BUDGET_S;
  ProgressLine progress("plan", 1);
  double phase_total = -1;
  options.progress = [&](double done, double total, const std::string& what) {
    if (total != phase_total) {  // ranking, then refining: each phase has its own ETA
      progress.finish();
      progress = ProgressLine(what.rfind("des ", 0) == 0 ? "plan: refining" : "plan: ranking", total);
      phase_total = total;
    }
    progress.update(done, what);
  };
  const PlanSearch search = search_plans(s, options);
  progress.finish();

  out << (a.scenario.empty() ? "default scenario" : a.scenario) << " on " << s.cluster.gpus() << " GPUs: "
      << search.enumerated << " plans enumerated, " << search.ranked.size() << " run and fit in HBM (ranked with "
      << search.routed_layers << " MoE layers routed per EP layout, " << search.routings << " layouts)\n";
  const std::string keeps = "each CP rank keeps at least " + std::to_string(MIN_TOKENS_PER_CP_RANK) + " tokens of a sequence";
  if (a.max_cp)
    out << "context parallelism: cp up to " << search.max_cp << " (--max-cp)\n\n";
  else if (search.max_cp == 1)
    out << "context parallelism: cp = 1 only (" << s.plan.seq_len << "-token sequences; cp > 1 where " << keeps
        << "; --max-cp C to try it)\n\n";
  else
    out << "context parallelism: cp up to " << search.max_cp << " (" << keeps << "; --max-cp C to change)\n\n";
  const size_t shown = std::min<size_t>(a.top, search.ranked.size());
  out << lpad("#", 3) << "  " << pad("plan", 28) << lpad("step ms", 10) << lpad("des ms", 10) << lpad("MFU %", 7)
      << lpad("tokens/s", 11) << lpad("GiB/GPU", 9) << "  why\n";
  for (size_t i = 0; i < shown; ++i) {
    const PlanCandidate& c = search.ranked[i];
    out << lpad(std::to_string(i + 1), 3) << "  " << pad(plan_label(c.plan), 28) << lpad(fixed(1e3 * c.analytic.step_time_s, 1), 10)
        << lpad(c.des ? fixed(1e3 * c.des->step_time_s, 1) : "-", 10) << lpad(fixed(100 * c.analytic.mfu, 1), 7)
        << lpad(fixed(c.analytic.tokens_per_s, 0), 11) << lpad(fixed(c.analytic.memory.total_bytes() / GIB, 1), 9) << "  "
        << why_it_ranks(search, i) << "\n";
  }
  print_scenario_plan_rank(search, s.plan, shown, out);
  if (!search.rejected.empty()) {
    out << "\nrejected:\n";
    for (const auto& [reason, n] : search.rejected) out << lpad(std::to_string(n), 6) << "  " << reason << "\n";
  }
  print_refine_skipped(search, out);
  if (!a.out_dir.empty()) {
    std::filesystem::create_directories(a.out_dir);
    const auto path = [&](const char* name) { return (std::filesystem::path(a.out_dir) / name).string(); };
    json plans = json::array();
    for (size_t i = 0; i < search.ranked.size(); ++i) plans.push_back(candidate_json(search, i));
    json rejected = json::object();
    for (const auto& [reason, n] : search.rejected) rejected[reason] = n;
    std::ofstream(path("plan.json")) << json{{"enumerated", search.enumerated}, {"plans", plans}, {"rejected", rejected}}.dump(2)
                                     << "\n";
    std::ofstream csv(path("plan.csv"));
    csv << "rank,dp,tp,cp,pp,vp,ep,etp,fsdp,micro_batch_size,micro_batches,step_time_s,des_step_time_s,mfu,tokens_per_s,"
           "memory_gib_per_gpu\n";
    for (const json& p : plans) {
      csv << p["rank"];
      for (const char* key : {"dp", "tp", "cp", "pp", "vp", "ep", "etp", "fsdp", "micro_batch_size", "micro_batches"})
        csv << "," << p["plan"][key];
      csv << "," << p["step_time_s"] << ","
          << (p.contains("des_step_time_s") ? p["des_step_time_s"].dump() : "") << "," << p["mfu"] << ","
          << p["tokens_per_s"] << "," << p["memory_gib_per_gpu"] << "\n";
    }
    std::ofstream(path("report.html")) << plan_page(search, shown, a.scenario.empty() ? "default scenario" : a.scenario);
    out << "\nwrote " << path("plan.json") << "\n      " << path("plan.csv") << "\n      " << path("report.html") << "\n";
  }
  return 0;
}

}  // namespace moesim
