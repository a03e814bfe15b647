#include "report/svg_plot.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace fptq::report {

std::string html_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::vector<double> axis_ticks(const Axis& a, int target) {
  std::vector<double> t;
  if (!(a.hi > a.lo)) return {a.lo};
  if (a.log) {
    const int e0 = int(std::ceil(std::log10(a.lo) - 1e-9));
    const int e1 = int(std::floor(std::log10(a.hi) + 1e-9));
    const bool fine = std::log10(a.hi / a.lo) < 2.0;
    const int step = std::max(1, (e1 - e0 + 1) / std::max(1, target));
    for (int e = int(std::floor(std::log10(a.lo))); e <= e1 + 1; ++e) {
      for (double m : fine ? std::vector<double>{1, 2, 5} : std::vector<double>{1}) {
        const double v = m * std::pow(10.0, e);
        if (v >= a.lo * (1 - 1e-9) && v <= a.hi * (1 + 1e-9) && (fine || (e - e0) % step == 0))
          t.push_back(v);
      }
    }
    return t;
  }
  const double raw = (a.hi - a.lo) / std::max(1, target);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  for (double v = std::ceil(a.lo / step) * step; v <= a.hi + step * 1e-9; v += step)
    t.push_back(std::fabs(v) < step * 1e-9 ? 0.0 : v);
  return t;
}

std::string tick_label(double v) {
  if (v == 0) return "0";
  const double a = std::fabs(v);
  if (a >= 1e5 || a < 1e-3) return fmt::format("{:.0e}", v);
  return fmt::format("{:g}", v);
}

SvgPlot::SvgPlot(int width, int height, Axis x, Axis y, std::string title)
    : w_(width), h_(height), x_(std::move(x)), y_(std::move(y)), title_(std::move(title)) {
  if (x_.log) x_.lo = std::max(x_.lo, 1e-30), x_.hi = std::max(x_.hi, x_.lo * 10);
  if (y_.log) y_.lo = std::max(y_.lo, 1e-30), y_.hi = std::max(y_.hi, y_.lo * 10);
  if (!(x_.hi > x_.lo)) x_.hi = x_.lo + 1;
  if (!(y_.hi > y_.lo)) y_.hi = y_.lo + 1;
}

double SvgPlot::map(const Axis& a, double v, double p0, double p1) const {
  double f;
  if (a.log) {
    v = std::max(v, a.lo);
    f = (std::log10(v) - std::log10(a.lo)) / (std::log10(a.hi) - std::log10(a.lo));
  } else {
    f = (v - a.lo) / (a.hi - a.lo);
  }
  if (!std::isfinite(f)) f = 0;
  f = std::clamp(f, 0.0, 1.0);
  return p0 + f * (p1 - p0);
}

double SvgPlot::px(double x) const { return map(x_, x, left_, w_ - right_); }
double SvgPlot::py(double y) const { return map(y_, y, h_ - bottom_, top_); }

void SvgPlot::polyline(const std::vector<std::pair<double, double>>& pts, const std::string& color,
                       double width, const std::string& dash) {
  if (pts.empty()) return;
  std::string d;
  for (const auto& [x, y] : pts) d += fmt::format("{:.1f},{:.1f} ", px(x), py(y));
  body_ += fmt::format(
      "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"{}\"{} points=\"{}\"/>\n", color,
      width, dash.empty() ? "" : fmt::format(" stroke-dasharray=\"{}\"", dash), d);
}

void SvgPlot::steps(const std::vector<double>& edges, const std::vector<double>& counts,
                    const std::string& color, double fill_opacity, const std::string& tip) {
  if (counts.empty() || edges.size() != counts.size() + 1) return;
  const double base = h_ - bottom_;
  std::string d = fmt::format("M{:.1f},{:.1f} ", px(edges[0]), base);
  for (size_t i = 0; i < counts.size(); ++i) {
    const double y = counts[i] > 0 ? py(counts[i]) : base;
    d += fmt::format("L{:.1f},{:.1f} L{:.1f},{:.1f} ", px(edges[i]), y, px(edges[i + 1]), y);
  }
  d += fmt::format("L{:.1f},{:.1f} Z", px(edges.back()), base);
  body_ += fmt::format(
      "<path d=\"{}\" fill=\"{}\" fill-opacity=\"{}\" stroke=\"{}\" stroke-width=\"1\">{}</path>\n", d,
      color, fill_opacity, color, tip.empty() ? "" : "<title>" + html_escape(tip) + "</title>");
}

void SvgPlot::marker(double x, double y, const std::string& shape, const std::string& color,
                     bool filled, const std::string& tip, double s) {
  const double cx = px(x), cy = py(y);
  const std::string style = fmt::format("fill=\"{}\" stroke=\"{}\" stroke-width=\"1.3\"",
                                        filled ? color : "white", color);
  const std::string t = tip.empty() ? "" : "<title>" + html_escape(tip) + "</title>";
  if (shape == "square") {
    body_ += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" {}>{}</rect>\n",
                         cx - s * 0.85, cy - s * 0.85, s * 1.7, s * 1.7, style, t);
  } else if (shape == "triangle") {
    body_ += fmt::format("<polygon points=\"{:.1f},{:.1f} {:.1f},{:.1f} {:.1f},{:.1f}\" {}>{}</polygon>\n",
                         cx, cy - s * 1.1, cx - s, cy + s * 0.8, cx + s, cy + s * 0.8, style, t);
  } else if (shape == "diamond") {
    body_ += fmt::format(
        "<polygon points=\"{:.1f},{:.1f} {:.1f},{:.1f} {:.1f},{:.1f} {:.1f},{:.1f}\" {}>{}</polygon>\n", cx,
        cy - s * 1.2, cx + s, cy, cx, cy + s * 1.2, cx - s, cy, style, t);
  } else {
    body_ += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"{:.1f}\" {}>{}</circle>\n", cx, cy, s,
                         style, t);
  }
}

void SvgPlot::hline(double y, const std::string& color, const std::string& label,
                    const std::string& dash) {
  const double yy = py(y);
  body_ += fmt::format(
      "<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" "
      "stroke-dasharray=\"{}\"/>\n<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"ref\" fill=\"{}\" "
      "text-anchor=\"end\">{}</text>\n",
      left_, w_ - right_, yy, yy, color, dash, w_ - right_ - 2, yy - 3, color, html_escape(label));
}

void SvgPlot::vline(double x, const std::string& color, const std::string& label,
                    const std::string& dash) {
  const double xx = px(x);
  body_ += fmt::format(
      "<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" "
      "stroke-dasharray=\"{}\"/>\n<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"ref\" fill=\"{}\" "
      "text-anchor=\"end\" transform=\"rotate(-90 {:.1f} {:.1f})\">{}</text>\n",
      xx, xx, top_, h_ - bottom_, color, dash, xx - 3, top_ + 4, color, xx - 3, top_ + 4,
      html_escape(label));
}

void SvgPlot::shade_x(double x0, double x1, const std::string& color, double opacity,
                      const std::string& tip) {
  const double a = px(x0), b = px(x1);
  body_ += fmt::format(
      "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\" "
      "fill-opacity=\"{}\">{}</rect>\n",
      std::min(a, b), top_, std::fabs(b - a), h_ - bottom_ - top_, color, opacity,
      tip.empty() ? "" : "<title>" + html_escape(tip) + "</title>");
}

std::string SvgPlot::str() const {
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"plot\" width=\"{}\" height=\"{}\" "
      "viewBox=\"0 0 {} {}\" role=\"img\">\n",
      w_, h_, w_, h_);
  s += fmt::format("<text x=\"{}\" y=\"15\" class=\"ptitle\">{}</text>\n", left_,
                   html_escape(title_));
  const double x0 = left_, x1 = w_ - right_, y0 = h_ - bottom_, y1 = top_;
  for (double t : axis_ticks(y_)) {
    const double y = py(t);
    s += fmt::format(
        "<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\" class=\"grid\"/><text "
        "x=\"{:.1f}\" y=\"{:.1f}\" class=\"tick\" text-anchor=\"end\">{}</text>\n",
        x0, x1, y, y, x0 - 4, y + 3.5, tick_label(t));
  }
  for (double t : axis_ticks(x_, 8)) {
    const double x = px(t);
    s += fmt::format(
        "<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\" class=\"grid\"/><text "
        "x=\"{:.1f}\" y=\"{:.1f}\" class=\"tick\" text-anchor=\"middle\">{}</text>\n",
        x, x, y0, y1, x, y0 + 13, tick_label(t));
  }
  s += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" class=\"frame\"/>\n",
                   x0, y1, x1 - x0, y0 - y1);
  s += body_;
  s += fmt::format("<text x=\"{:.1f}\" y=\"{}\" class=\"alabel\" text-anchor=\"middle\">{}</text>\n",
                   (x0 + x1) / 2, h_ - 6, html_escape(x_.label));
  s += fmt::format(
      "<text x=\"12\" y=\"{:.1f}\" class=\"alabel\" text-anchor=\"middle\" transform=\"rotate(-90 12 "
      "{:.1f})\">{}</text>\n",
      (y0 + y1) / 2, (y0 + y1) / 2, html_escape(y_.label));
  s += "</svg>\n";
  return s;
}

}  // namespace fptq::report
