#include "sim/svg.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace moesim::svg {

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string number(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

Canvas::Canvas(std::string id, double width, double height) : id_(std::move(id)), width_(width), height_(height) {}

void Canvas::rect(double x, double y, double w, double h, const std::string& fill, const std::string& tooltip) {
  body_ += "<rect x=\"" + number(x) + "\" y=\"" + number(y) + "\" width=\"" + number(std::max(w, 0.0), 2) +
           "\" height=\"" + number(std::max(h, 0.0), 2) + "\" fill=\"" + fill + "\">";
  if (!tooltip.empty()) body_ += "<title>" + escape(tooltip) + "</title>";
  body_ += "</rect>\n";
}

void Canvas::line(double x1, double y1, double x2, double y2, const std::string& stroke, double width,
                  const std::string& dash) {
  body_ += "<line x1=\"" + number(x1) + "\" y1=\"" + number(y1) + "\" x2=\"" + number(x2) + "\" y2=\"" + number(y2) +
           "\" stroke=\"" + stroke + "\" stroke-width=\"" + number(width) + "\"" +
           (dash.empty() ? "" : " stroke-dasharray=\"" + dash + "\"") + "/>\n";
}

void Canvas::text(double x, double y, const std::string& t, const std::string& anchor, double size, const std::string& fill) {
  body_ += "<text x=\"" + number(x) + "\" y=\"" + number(y) + "\" text-anchor=\"" + anchor + "\" font-size=\"" +
           number(size, 0) + "\" fill=\"" + fill + "\">" + escape(t) + "</text>\n";
}

void Canvas::x_axis(double x0, double x1, double y, double max, int ticks, const std::string& unit) {
  line(x0, y, x1, y, "#999");
  for (int i = 0; i <= ticks; ++i) {
    const double x = x0 + (x1 - x0) * i / ticks;
    line(x, y, x, y + 4, "#999");
    const double v = max * i / ticks;
    text(x, y + 15, number(v, v < 10 ? 2 : v < 100 ? 1 : 0) + (i == ticks ? " " + unit : ""), "middle", 10);
  }
}

std::string Canvas::str() const {
  return "<svg id=\"" + id_ + "\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" + number(width_, 0) + "\" height=\"" +
         number(height_, 0) + "\" viewBox=\"0 0 " + number(width_, 0) + " " + number(height_, 0) +
         "\" font-family=\"sans-serif\">\n" + body_ + "</svg>\n";
}

std::string heat(double t) {
  // Five stops from light yellow to dark blue (a sequential scale readable in print).
  static const double stops[5][3] = {{255, 255, 204}, {161, 218, 180}, {65, 182, 196}, {44, 127, 184}, {37, 52, 148}};
  t = std::clamp(std::isfinite(t) ? t : 0.0, 0.0, 1.0) * 4;
  const int i = std::min(int(t), 3);
  const double f = t - i;
  char buf[16];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", int(stops[i][0] + f * (stops[i + 1][0] - stops[i][0])),
                int(stops[i][1] + f * (stops[i + 1][1] - stops[i][1])), int(stops[i][2] + f * (stops[i + 1][2] - stops[i][2])));
  return buf;
}

const std::string& category(size_t i) {
  static const std::vector<std::string> colors = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2",
                                                  "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
  return colors[i % colors.size()];
}

}  // namespace moesim::svg
