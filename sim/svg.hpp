#pragma once
#include <string>
#include <vector>

// A minimal SVG writer for the HTML reports: rectangles, lines and text with tooltips, a
// color scale for heatmaps and a palette for categories. Inline SVG, no script.
namespace moesim::svg {

std::string escape(const std::string& text);
std::string number(double v, int digits = 1);  // fixed digits, for coordinates and labels

class Canvas {
 public:
  Canvas(std::string id, double width, double height);
  void rect(double x, double y, double w, double h, const std::string& fill, const std::string& tooltip = "");
  void line(double x1, double y1, double x2, double y2, const std::string& stroke, double width = 1,
            const std::string& dash = "");
  void text(double x, double y, const std::string& text, const std::string& anchor = "start", double size = 11,
            const std::string& fill = "#333");
  // A horizontal axis from x0 to x1 at y for values 0..max with `ticks` labelled ticks.
  void x_axis(double x0, double x1, double y, double max, int ticks, const std::string& unit);
  std::string str() const;

 private:
  std::string id_;
  double width_, height_;
  std::string body_;
};

// Heatmap color for t in [0, 1] (light yellow to dark blue).
std::string heat(double t);
// Distinct category colors.
const std::string& category(size_t i);

}  // namespace moesim::svg
