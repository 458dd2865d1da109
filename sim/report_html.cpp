#include "sim/report_html.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>

#include "sim/svg.hpp"

namespace moesim {

namespace {

using svg::Canvas;
using svg::number;

constexpr double WIDTH = 720;
constexpr double GIB = 1024.0 * 1024 * 1024;

std::string card(const std::string& title, const std::string& note, const std::string& chart) {
  return "<section><h2>" + svg::escape(title) + "</h2>" + (note.empty() ? "" : "<p>" + svg::escape(note) + "</p>") + chart +
         "</section>\n";
}

std::string scenario_brief(const Scenario& s, const StepResult& r) {
  const ParallelPlan& p = s.plan;
  const std::pair<std::string, std::string> rows[] = {
      {"cluster", s.cluster.name + ": " + std::to_string(s.cluster.nodes) + " nodes x " +
                      std::to_string(s.cluster.gpus_per_node) + " " + s.cluster.gpu.name},
      {"model", s.model.name + ": " + s.model.shape_summary()},
      {"plan", "DP " + std::to_string(p.dp) + ", TP " + std::to_string(p.tp) +
                   (p.cp > 1 ? ", CP " + std::to_string(p.cp) : "") + ", PP " + std::to_string(p.pp) + ", EP " +
                   std::to_string(p.ep) + ", ETP " + std::to_string(p.etp) + "; " + std::to_string(p.micro_batches) +
                   " micro-batches of " + std::to_string(p.micro_batch_size) + " x " + std::to_string(p.seq_len) + " tokens"},
      {"router", s.router.name + ", scores " + s.scores.name + ", placement " + s.placement.name},
      {"engine", r.engine},
      {"step time", number(r.step_time_s * 1e3, 2) + " ms, MFU " + number(100 * r.mfu, 1) + " %, " +
                        number(r.tokens_per_s, 0) + " tokens/s"},
      {"routing", number(100 * r.drop_rate, 2) + " % of assignments dropped; expert max/mean " +
                      number(r.expert_max_over_mean, 2) + ", GPU max/mean " + number(r.rank_max_over_mean, 2)},
  };
  std::string html = "<table class=\"brief\">";
  for (const auto& [k, v] : rows) html += "<tr><th>" + svg::escape(k) + "</th><td>" + svg::escape(v) + "</td></tr>";
  return html + "</table>\n";
}

// A stacked bar of named parts with a legend below.
std::string stacked_bar(const std::string& id, const std::vector<std::pair<std::string, double>>& parts, double scale_to,
                        const std::string& unit, double unit_factor, double marker = -1, const std::string& marker_label = "") {
  const double total = std::max(scale_to, 1e-30);
  const int legend_rows = int(parts.size() + 2) / 3;
  Canvas c(id, WIDTH, 70 + 18 * legend_rows);
  const double x0 = 10, x1 = WIDTH - 20;
  double x = x0;
  for (size_t i = 0; i < parts.size(); ++i) {
    const double w = (x1 - x0) * parts[i].second / total;
    c.rect(x, 10, w, 26, svg::category(i), parts[i].first + ": " + number(parts[i].second * unit_factor, 2) + " " + unit);
    x += w;
  }
  if (marker >= 0) {
    const double mx = x0 + (x1 - x0) * marker / total;
    c.line(mx, 4, mx, 42, "#c00", 2, "4,2");
    c.text(mx, 54, marker_label, mx > WIDTH / 2 ? "end" : "start", 10, "#c00");
  }
  c.x_axis(x0, x1, 40, total * unit_factor, 5, unit);
  for (size_t i = 0; i < parts.size(); ++i) {
    const double lx = x0 + (i % 3) * 235, ly = 68 + 18 * (i / 3);
    c.rect(lx, ly - 9, 10, 10, svg::category(i));
    c.text(lx + 14, ly, parts[i].first + " " + number(parts[i].second * unit_factor, 2) + " " + unit, "start", 10);
  }
  return c.str();
}

std::string breakdown_chart(const StepResult& r) {
  return stacked_bar("chart-breakdown", r.breakdown_s, r.step_time_s, "ms", 1e3);
}

std::string memory_chart(const StepResult& r) {
  const MemoryBreakdown& m = r.memory;
  const std::vector<std::pair<std::string, double>> parts = {{"weights", m.weights_bytes},
                                                             {"gradients", m.gradients_bytes},
                                                             {"optimizer", m.optimizer_bytes},
                                                             {"activations", m.activations_bytes},
                                                             {"all-to-all buffers", m.a2a_buffer_bytes}};
  return stacked_bar("chart-memory", parts, std::max(m.total_bytes(), r.hbm_bytes) * 1.02, "GiB", 1 / GIB, r.hbm_bytes,
                     "HBM " + number(r.hbm_bytes / GIB, 0) + " GiB");
}

std::string expert_load_chart(const StepResult& r) {
  const auto& layers = r.expert_load;
  const int experts = layers.empty() ? 1 : int(layers[0].tokens.size());
  const double cell_w = std::max(1.0, (WIDTH - 140) / experts), cell_h = std::clamp(320.0 / std::max<size_t>(layers.size(), 1), 3.0, 14.0);
  Canvas c("chart-expert-load", WIDTH, 40 + cell_h * layers.size() + 30);
  long most = 1;
  double worst_drop = 0;
  for (const auto& l : layers) {
    most = std::max(most, *std::max_element(l.tokens.begin(), l.tokens.end()));
    const double all = std::accumulate(l.tokens.begin(), l.tokens.end(), 0.0) + l.dropped;
    worst_drop = std::max(worst_drop, all > 0 ? l.dropped / all : 0);
  }
  c.text(40, 14, "expert 0 .. " + std::to_string(experts - 1) + " (darker = more tokens; most " + std::to_string(most) + ")", "start", 10);
  c.text(WIDTH - 90, 14, "dropped", "start", 10, "#c00");
  for (size_t i = 0; i < layers.size(); ++i) {
    const auto& l = layers[i];
    const double y = 22 + i * cell_h;
    if (cell_h >= 8 || i % 4 == 0) c.text(36, y + cell_h - 1, std::to_string(l.layer), "end", std::min(cell_h, 10.0));
    for (int e = 0; e < experts; ++e)
      c.rect(40 + e * cell_w, y, cell_w, cell_h, svg::heat(double(l.tokens[e]) / most),
             "layer " + std::to_string(l.layer) + ", expert " + std::to_string(e) + ": " + std::to_string(l.tokens[e]) + " tokens");
    const double all = std::accumulate(l.tokens.begin(), l.tokens.end(), 0.0) + l.dropped;
    const double share = all > 0 ? l.dropped / all : 0;
    c.rect(WIDTH - 90, y, 80 * (worst_drop > 0 ? share / worst_drop : 0), cell_h, "#d62728",
           "layer " + std::to_string(l.layer) + ": " + std::to_string(l.dropped) + " assignments dropped (" +
               number(100 * share, 2) + " %)");
    c.rect(WIDTH - 91, y, 1, cell_h, "#999");  // the drop column's baseline, also when nothing dropped
  }
  c.text(40, 40 + cell_h * layers.size() + 10, "rows: MoE layers (layer index at left)", "start", 10);
  return c.str();
}

// Rows each EP rank's experts receive, averaged over the routed MoE layers (first micro-batch).
std::string rank_load_chart(const RoutedStep& routed) {
  std::vector<double> rows;
  for (const LayerLoad& l : routed.layers) {
    const auto& r = l.micro_batches.front().rank_rows;
    if (rows.empty()) rows.assign(r.size(), 0);
    for (size_t i = 0; i < r.size(); ++i) rows[i] += r[i] / routed.layers.size();
  }
  const double most = std::max(1.0, rows.empty() ? 1.0 : *std::max_element(rows.begin(), rows.end()));
  const double mean = rows.empty() ? 0 : std::accumulate(rows.begin(), rows.end(), 0.0) / rows.size();
  Canvas c("chart-rank-load", WIDTH, 200);
  const double bar = (WIDTH - 60) / std::max<size_t>(rows.size(), 1);
  for (size_t i = 0; i < rows.size(); ++i) {
    const double h = 150 * rows[i] / most;
    c.rect(40 + i * bar, 170 - h, std::max(bar - 1, 0.5), h, rows[i] > 1.1 * mean ? "#e15759" : "#4e79a7",
           "EP rank " + std::to_string(i) + ": " + number(rows[i], 0) + " rows (" + number(rows[i] / std::max(mean, 1e-9), 2) +
               " x mean)");
  }
  const double my = 170 - 150 * mean / most;
  c.line(38, my, WIDTH - 18, my, "#333", 1, "4,3");
  c.text(WIDTH - 18, my - 4, "mean " + number(mean, 0), "end", 10);
  c.text(40, 188, "EP rank 0 .. " + std::to_string(rows.size() - 1) + " (red: above 1.1 x mean)", "start", 10);
  return c.str();
}

std::string straggler_chart(const StepResult& r) {
  const auto& s = r.stragglers;
  double most = 1e-12;
  for (const auto& l : s) most = std::max(most, l.max_wait_s);
  Canvas c("chart-stragglers", WIDTH, 190);
  const double bar = (WIDTH - 60) / std::max<size_t>(s.size(), 1);
  for (size_t i = 0; i < s.size(); ++i) {
    const double h = 140 * s[i].max_wait_s / most;
    c.rect(40 + i * bar, 150 - h, std::max(bar - 1, 0.5), h, "#f28e2b",
           "layer " + std::to_string(s[i].layer) + ": GPU " + std::to_string(s[i].gpu) + " arrived " +
               number(s[i].max_wait_s * 1e6, 1) + " us after the mean (mean " + number(s[i].mean_wait_s * 1e6, 1) + " us)");
  }
  c.line(38, 150, WIDTH - 18, 150, "#999");
  c.text(40, 172, "MoE layers; bar: how far the last GPU reached the combine after the group's mean (max " +
                      number(most * 1e6, 1) + " us)", "start", 10);
  if (s.empty()) c.rect(40, 148, WIDTH - 60, 2, "#999", "no straggler recorded");
  return c.str();
}

// Copies between nodes (or, on one node, between the EP group's GPUs) in the first routed
// micro-batch of the first MoE layer.
std::string traffic_chart(const RoutedStep& routed) {
  const EpGroupLayout& g = routed.group;
  const MicroBatchLoad& load = routed.layers.front().micro_batches.front();
  const bool by_node = g.node.back() > g.node.front();
  const int first_node = g.node.front();
  const int n = by_node ? g.node.back() - first_node + 1 : g.size();
  std::vector<double> m(size_t(n) * n, 0);
  for (int s = 0; s < g.size(); ++s)
    for (int d = 0; d < g.size(); ++d) {
      const int a = by_node ? g.node[s] - first_node : s, b = by_node ? g.node[d] - first_node : d;
      m[size_t(a) * n + b] += load.pair_copies[size_t(s) * g.size() + d];
    }
  const double most = std::max(1.0, *std::max_element(m.begin(), m.end()));
  const double cell = std::min(24.0, 320.0 / n);
  Canvas c("chart-traffic", WIDTH, 60 + cell * n);
  const std::string unit = by_node ? "node" : "GPU";
  c.text(50, 14, "from " + unit + " (rows) to " + unit + " (columns): token copies, darker = more (most " + number(most, 0) + ")",
         "start", 10);
  for (int a = 0; a < n; ++a)
    for (int b = 0; b < n; ++b)
      c.rect(50 + b * cell, 24 + a * cell, cell - (cell > 4 ? 1 : 0), cell - (cell > 4 ? 1 : 0), svg::heat(m[size_t(a) * n + b] / most),
             unit + " " + std::to_string(a) + " -> " + unit + " " + std::to_string(b) + ": " + number(m[size_t(a) * n + b], 0) +
                 " copies");
  c.text(50, 40 + cell * n, std::to_string(n) + " " + unit + "s of the first EP group; diagonal: traffic that stays inside",
         "start", 10);
  return c.str();
}

// DES: mean utilization of every link that carried traffic. Analytic: the all-to-all load of
// each GPU port (NVLink, NIC) of the routed EP group over the step.
std::string link_chart(const StepResult& r, const RoutedStep& routed, const Scenario& s, std::string& note) {
  std::vector<double> util;
  if (!r.links.empty()) {
    for (const auto& l : r.links) util.push_back(l.mean_utilization);
    note = "Mean utilization of the " + std::to_string(util.size()) + " links that carried traffic (discrete-event engine).";
  } else {
    const EpGroupLayout& g = routed.group;
    const double scale = double(s.plan.micro_batches) / std::max(routed.routed_micro_batches, 1);
    const double bytes = s.model.dispatch_bytes_per_token() + s.model.combine_bytes_per_token() + 4.0 * s.model.d_model;
    std::vector<double> nvlink(g.size(), 0), nic(g.size(), 0);
    for (const LayerLoad& l : routed.layers)
      for (const MicroBatchLoad& mb : l.micro_batches)
        for (int i = 0; i < g.size(); ++i) {
          nvlink[i] += std::max(mb.send_intra[i], mb.recv_intra[i]) * bytes * mb.row_fraction * scale / l.micro_batches.size();
          nic[i] += std::max(mb.send_inter[i], mb.recv_inter[i]) * bytes * mb.row_fraction * scale / l.micro_batches.size();
        }
    for (int i = 0; i < g.size(); ++i) {
      util.push_back(nvlink[i] / (s.cluster.nvlink_payload_Bps() * r.step_time_s));
      if (s.cluster.nodes > 1) util.push_back(nic[i] / (s.cluster.nic_payload_Bps() * r.step_time_s));
    }
    note = "Analytic engine: all-to-all bytes through each GPU port (NVLink, NIC) of the first EP group over the step, "
           "against the port's bandwidth (--engine des measures every link).";
  }
  constexpr int BINS = 10;
  std::vector<int> count(BINS, 0);
  for (double u : util) ++count[std::clamp(int(u * BINS), 0, BINS - 1)];
  const int most = std::max(1, *std::max_element(count.begin(), count.end()));
  Canvas c("chart-links", WIDTH, 190);
  const double bar = (WIDTH - 60) / BINS;
  for (int b = 0; b < BINS; ++b) {
    const double h = 140 * count[b] / double(most);
    c.rect(40 + b * bar, 150 - h, bar - 2, h, "#76b7b2",
           std::to_string(count[b]) + " links at " + std::to_string(b * 10) + "-" + std::to_string(b * 10 + 10) + " %");
    c.text(40 + b * bar + bar / 2, 150 - h - 3, std::to_string(count[b]), "middle", 10);
  }
  c.x_axis(40, WIDTH - 20, 150, 100, BINS, "% utilization");
  return c.str();
}

// Spans of the forward pass of micro-batch 0 in the first MoE layer, per traced GPU of stage 0.
std::string timeline_chart(const Simulation& sim, const RoutedStep& routed, std::string& note) {
  const int layer = routed.layers.front().layer;
  std::vector<std::pair<int, std::vector<Span>>> rows;
  double t0 = 1e300, t1 = -1e300;
  for (const GpuTimeline& timeline : sim.timelines) {
    const int gpu = timeline.gpu;
    if (gpu >= sim.program.gpus_per_stage || !timeline.traced) continue;
    std::vector<Span> spans;
    for (const Span& sp : timeline.spans) {
      const Op& op = sim.program.ops[gpu][sp.op];
      if (op.layer != layer || op.micro_batch != 0 || op.backward) continue;
      spans.push_back(sp);
      t0 = std::min(t0, sp.start_s), t1 = std::max(t1, sp.end_s);
    }
    if (!spans.empty()) rows.emplace_back(gpu, std::move(spans));
    if (rows.size() >= 16) break;
  }
  note = "Forward pass of micro-batch 0 through layer " + std::to_string(layer) + " (the first MoE layer) on " +
         std::to_string(rows.size()) + " GPU(s) of pipeline stage 0" +
         (sim.result.engine == "analytic" ? "; the analytic engine times one GPU per stage, --engine des the whole EP group." : ".");
  const double span = std::max(t1 - t0, 1e-12);
  Canvas c("chart-timeline", WIDTH, 50 + 18 * rows.size() + 40);
  for (size_t r = 0; r < rows.size(); ++r) {
    const double y = 10 + 18 * r;
    c.text(56, y + 12, "GPU " + std::to_string(rows[r].first), "end", 10);
    for (const Span& sp : rows[r].second)
      c.rect(60 + (WIDTH - 80) * (sp.start_s - t0) / span, y, std::max((WIDTH - 80) * (sp.end_s - sp.start_s) / span, 0.5), 14,
             svg::category(size_t(sp.part)),
             std::string(part_name(sp.part)) + ": " + number((sp.end_s - sp.start_s) * 1e6, 1) + " us");
  }
  const double axis_y = 14 + 18 * rows.size();
  c.x_axis(60, WIDTH - 20, axis_y, span * 1e6, 5, "us");
  double lx = 60;
  for (size_t p = 0; p < PART_COUNT; ++p) {
    const std::string name = part_name(Part(p));
    c.rect(lx, axis_y + 22, 10, 10, svg::category(p));
    c.text(lx + 13, axis_y + 31, name, "start", 9);
    lx += 14 + 6.2 * name.size();
  }
  return c.str();
}

}  // namespace

std::string html_page(const std::string& title, const std::string& body) {
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + svg::escape(title) +
         "</title>\n<style>\nbody{font-family:sans-serif;margin:24px;color:#222;background:#fafafa}\n"
         "section{background:#fff;border:1px solid #ddd;border-radius:6px;padding:12px 16px;margin:0 0 16px;"
         "max-width:760px}\nh1{font-size:20px}h2{font-size:15px;margin:4px 0 6px}p{font-size:12px;color:#555;margin:0 0 6px}\n"
         "table.brief{border-collapse:collapse;font-size:12px}table.brief th{text-align:left;padding:2px 12px 2px 0;"
         "color:#555}table.brief td{padding:2px 0}\n.grid{display:flex;flex-wrap:wrap;gap:16px}\n</style></head>\n<body>\n<h1>" +
         svg::escape(title) + "</h1>\n" + body + "</body></html>\n";
}

std::string report_html(const Simulation& sim, const Scenario& scenario) {
  const StepResult& r = sim.result;
  const RoutedStep& routed = *sim.routed;
  std::string link_note, timeline_note;
  std::string body = card("Scenario", "", scenario_brief(scenario, r));
  body += card("Step time", "Where the step of the GPU that finished last goes; the parts sum to the step time.",
               breakdown_chart(r));
  if (!routed.layers.empty()) {
    body += card("Expert load", "Tokens per expert in each MoE layer over the routed sample; right: dropped assignments.",
                 expert_load_chart(r));
    body += card("Rows per EP rank", "Token rows each EP rank's experts receive, mean over the MoE layers.",
                 rank_load_chart(routed));
    body += card("Straggler wait", "Per MoE layer, how late the slowest GPU of the EP group reached the combine.",
                 straggler_chart(r));
    body += card("All-to-all traffic", "Dispatch copies between the EP group's nodes.", traffic_chart(routed));
    const std::string links = link_chart(r, routed, scenario, link_note);
    body += card("Link utilization", link_note, links);
    const std::string timeline = timeline_chart(sim, routed, timeline_note);
    body += card("Timeline excerpt", timeline_note, timeline);
  }
  body += card("Memory per GPU", std::string("The fullest pipeline stage at its peak; ") +
                                     (r.fits_memory ? "fits in HBM." : "does NOT fit in HBM."),
               memory_chart(r));
  return html_page("moesim: " + (scenario.name.empty() ? scenario.source : scenario.name), body);
}

std::string write_report_html(const std::string& dir, const Simulation& sim, const Scenario& scenario) {
  std::filesystem::create_directories(dir);
  const std::string path = (std::filesystem::path(dir) / "report.html").string();
  std::ofstream out(path);
  out << report_html(sim, scenario);
  if (!out) throw std::runtime_error(path + ": cannot write");
  return path;
}

}  // namespace moesim
