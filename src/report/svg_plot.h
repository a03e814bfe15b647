// A small SVG chart writer for the HTML report: one plot area with linear or
// logarithmic axes, ticks and labels, and the marks the report draws (lines,
// histogram steps, markers, reference lines). Output is plain inline SVG, no
// scripts; hover text uses <title> elements.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace fptq::report {

struct Axis {
  double lo = 0, hi = 1;
  bool log = false;   // log10 scale (lo, hi > 0)
  std::string label;
};

// Escapes &, <, >, " and ' for HTML/SVG text and attributes.
std::string html_escape(const std::string& s);

// Tick values for an axis: "nice" 1/2/5 steps (linear), powers of ten (log;
// 1/2/5 per decade when the range spans under two decades).
std::vector<double> axis_ticks(const Axis& a, int target = 6);

// Tick label: %g-like, short.
std::string tick_label(double v);

class SvgPlot {
 public:
  SvgPlot(int width, int height, Axis x, Axis y, std::string title);

  double px(double x) const;  // data -> pixel, clamped into the plot area
  double py(double y) const;

  void polyline(const std::vector<std::pair<double, double>>& pts, const std::string& color,
                double width = 1.5, const std::string& dash = "");
  // Histogram as a filled step outline: bin i spans [edges[i], edges[i+1]),
  // height counts[i] (0 drawn at the bottom of the axis).
  void steps(const std::vector<double>& edges, const std::vector<double>& counts,
             const std::string& color, double fill_opacity, const std::string& tip = "");
  // shape: "circle", "square", "triangle", "diamond".
  void marker(double x, double y, const std::string& shape, const std::string& color, bool filled,
              const std::string& tip, double size = 4.5);
  void hline(double y, const std::string& color, const std::string& label,
             const std::string& dash = "6 4");
  void vline(double x, const std::string& color, const std::string& label,
             const std::string& dash = "6 4");
  void shade_x(double x0, double x1, const std::string& color, double opacity,
               const std::string& tip = "");

  std::string str() const;

 private:
  int w_, h_;
  Axis x_, y_;
  std::string title_;
  double left_ = 62, right_ = 14, top_ = 24, bottom_ = 40;
  std::string body_;
  double map(const Axis& a, double v, double p0, double p1) const;
};

}  // namespace fptq::report
