#pragma once
#include <string>

#include "sim/scenario.hpp"
#include "sim/simulate.hpp"

namespace moesim {

// DIR/report.html: one self-contained page (inline SVG and CSS, no script, nothing fetched)
// with the scenario in brief, the step-time breakdown, expert load per layer with drops, rows
// per EP rank and straggler waits, the all-to-all traffic matrix, link (or port) utilization,
// a timeline excerpt of one MoE layer, and memory per GPU against HBM. Returns the path.
std::string write_report_html(const std::string& dir, const Simulation& sim, const Scenario& scenario);
std::string report_html(const Simulation& sim, const Scenario& scenario);

// The page around some charts, shared by the comparison reports.
std::string html_page(const std::string& title, const std::string& body);

}  // namespace moesim
