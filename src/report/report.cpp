#include "report/report.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "report/svg_plot.h"

namespace fptq::report {
namespace {

using nlohmann::json;

const char* strategy_color(const std::string& s) {
  if (s == "static") return "#2e7d32";
  if (s == "lae_static") return "#1565c0";
  if (s == "dynamic") return "#ef6c00";
  return "#757575";
}

const char* kind_shape(const std::string& k) {
  if (k == "attn_qkv_in") return "circle";
  if (k == "attn_out_in") return "square";
  if (k == "ffn_gate_up_in") return "triangle";
  return "diamond";
}

double kind_offset(const std::string& k) {
  if (k == "attn_qkv_in") return -0.27;
  if (k == "attn_out_in") return -0.09;
  if (k == "ffn_gate_up_in") return 0.09;
  return 0.27;
}

std::vector<float> after_fold(const std::vector<float>& m, const std::vector<float>& s) {
  if (s.empty()) return m;
  std::vector<float> out(m.size());
  for (size_t j = 0; j < m.size(); ++j) out[j] = m[j] / s[j];
  return out;
}

// (x, max over the bucket) for at most `n` buckets: max-pooling keeps peaks.
std::vector<std::pair<double, double>> pooled(const std::vector<float>& v, size_t n) {
  std::vector<std::pair<double, double>> out;
  if (v.empty()) return out;
  const size_t per = std::max<size_t>(1, (v.size() + n - 1) / n);
  for (size_t i = 0; i < v.size(); i += per) {
    float m = 0;
    size_t at = i;
    for (size_t j = i; j < std::min(v.size(), i + per); ++j)
      if (v[j] > m) m = v[j], at = j;
    out.emplace_back(double(at), std::max(double(m), 1e-30));
  }
  return out;
}

std::string pct(double f) { return fmt::format("{:.3g}%", 100 * f); }
std::string sci(double v) { return fmt::format("{:.3g}", v); }

json hist_json(const LinearHistogram& h) {
  return json{{"lo", h.lo}, {"hi", h.hi}, {"counts", h.counts}, {"outside", h.outside}};
}

json codes_json(const CodeHistogram& h) {
  if (h.empty()) return nullptr;
  return json{{"lo", h.lo}, {"hi", h.hi}, {"counts", h.counts}, {"total", h.total()},
              {"saturated", h.saturated}, {"saturated_frac", h.saturated_frac()},
              {"end_frac", h.end_frac()}};
}

json figures(const EvalFigures& f) {
  return json{{"ppl", f.ppl}, {"ppl_stderr", f.ppl_stderr}, {"kld", f.kld},
              {"kld_stderr", f.kld_stderr}, {"kld_p99", f.kld_p99}, {"top1", f.top1}};
}

// Mean ΔKLD of every single-point unit of the ranking, and its rank.
std::map<std::string, std::pair<double, int64_t>> kld_by_point(const ReportInput& in) {
  std::map<std::string, std::pair<double, int64_t>> out;
  if (!in.sensitivity) return out;
  int64_t rank = 0;
  for (const SensRow& r : in.sensitivity->rows) {
    ++rank;
    if (r.unit.points.size() == 1 && r.unit.points[0] == r.unit.name)
      out[r.unit.name] = {r.fig.kld, rank};
  }
  return out;
}

const char* kCss = R"(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1180px;color:#222;padding:0 12px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:16px;margin:22px 0 6px}
table{border-collapse:collapse;margin:6px 0 12px}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
.kv td:first-child{color:#555;white-space:nowrap}
.plot{background:#fff;margin:4px 8px 4px 0;vertical-align:top}
.plot .grid{stroke:#eee;stroke-width:1}.plot .frame{fill:none;stroke:#999}
.plot .tick{font-size:10px;fill:#555}.plot .alabel{font-size:11px;fill:#333}.plot .ptitle{font-size:12px;font-weight:600;fill:#222}
.plot .ref{font-size:10px}
.legend span{display:inline-block;margin-right:14px}.sw{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:4px;vertical-align:-1px}
.point{border-top:1px solid #eee;margin-top:14px}
.facts{color:#444;font-size:13px}.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;white-space:pre-wrap}
.note{color:#666;font-size:12px}.strategy{font-weight:600}
nav a{margin-right:6px}
)";

std::string legend() {
  std::string s = "<div class=\"legend\">";
  for (const char* st : {"static", "lae_static", "dynamic", "fp"})
    s += fmt::format("<span><span class=\"sw\" style=\"background:{}\"></span>{}</span>",
                     strategy_color(st), st == std::string("lae_static") ? "LAE + static" : st);
  s += " &nbsp; markers: ● attn_qkv_in ■ attn_out_in ▲ ffn_gate_up_in ◆ ffn_down_in; hollow = bound "
       "after LAE</div>";
  return s;
}

std::string overview_chart(const ReportInput& in) {
  const auto& spec = in.pair->spec;
  double lo = spec.v0, hi = spec.v1;
  for (const PointProbe& p : in.points) {
    if (p.quant.bound > 0) lo = std::min(lo, double(p.quant.bound)), hi = std::max(hi, double(p.quant.bound));
    if (p.quant.bound_lae > 0) lo = std::min(lo, double(p.quant.bound_lae));
  }
  SvgPlot plot(1120, 400, Axis{-0.6, double(in.pair->cfg.n_layer) - 0.4, false, "block"},
               Axis{lo / 1.6, hi * 1.6, true, "activation bound B = max|x| (log)"},
               "Bound per layer input vs the policy thresholds, coloured by strategy");
  plot.hline(spec.v1, "#c62828", fmt::format("v1 = {:g} (above: dynamic)", spec.v1));
  plot.hline(spec.v0, "#6a1b9a", fmt::format("v0 = {:g} (below: static)", spec.v0));
  for (const PointProbe& p : in.points) {
    const double x = double(p.layer) + kind_offset(p.kind);
    const char* c = strategy_color(p.strategy);
    if (p.quant.lae && p.quant.bound_lae > 0) {
      plot.polyline({{x, p.quant.bound}, {x, p.quant.bound_lae}}, c, 1.0, "2 2");
      plot.marker(x, p.quant.bound_lae, kind_shape(p.kind), c, false,
                  fmt::format("{}: B after LAE = {:.4g}", p.name, p.quant.bound_lae), 3.5);
    }
    plot.marker(x, p.quant.bound, kind_shape(p.kind), c, true,
                fmt::format("{}: B = {:.4g}, {}", p.name, p.quant.bound, p.strategy));
  }
  return plot.str();
}

std::string error_chart(const ReportInput& in) {
  double lo = 1e300, hi = 0;
  for (const PointProbe& p : in.points)
    if (p.out_nmse > 0) lo = std::min(lo, p.out_nmse), hi = std::max(hi, p.out_nmse);
  if (hi <= 0) return "";
  SvgPlot plot(1120, 300, Axis{-0.6, double(in.pair->cfg.n_layer) - 0.4, false, "block"},
               Axis{lo / 1.6, hi * 1.6, true, "output NMSE on calibration rows (log)"},
               "Per-layer output error in isolation (FP activations in, quantized layer vs FP layer)");
  for (const PointProbe& p : in.points)
    plot.marker(double(p.layer) + kind_offset(p.kind), std::max(p.out_nmse, lo),
                kind_shape(p.kind), strategy_color(p.strategy), true,
                fmt::format("{}: output NMSE {:.3g} ({})", p.name, p.out_nmse, p.strategy));
  return plot.str();
}

std::string kld_chart(const ReportInput& in) {
  const auto k = kld_by_point(in);
  if (k.empty()) return "";
  double lo = 1e300, hi = 0;
  for (const auto& [n, v] : k)
    if (v.first > 0) lo = std::min(lo, v.first), hi = std::max(hi, v.first);
  if (hi <= 0) return "";
  SvgPlot plot(1120, 300, Axis{-0.6, double(in.pair->cfg.n_layer) - 0.4, false, "block"},
               Axis{lo / 1.6, hi * 1.6, true, "KLD with only this layer quantized (log)"},
               "Contribution to the final KL divergence (fptq sensitivity)");
  for (const PointProbe& p : in.points) {
    const auto it = k.find(p.name);
    if (it == k.end()) continue;
    plot.marker(double(p.layer) + kind_offset(p.kind), std::max(it->second.first, lo),
                kind_shape(p.kind), strategy_color(p.strategy), true,
                fmt::format("{}: KLD {:.4g}, rank {}", p.name, it->second.first, it->second.second));
  }
  return plot.str();
}

std::string channel_chart(const ReportInput& in, const PointProbe& p) {
  const auto& before = channel_max_before(in, p);
  const auto after = after_fold(before, p.fold);
  double lo = 1e300, hi = 0;
  for (const auto* v : {&before, &after})
    for (float x : *v)
      if (x > 0) lo = std::min(lo, double(x)), hi = std::max(hi, double(x));
  if (hi <= 0) return "";
  SvgPlot plot(540, 250, Axis{0, double(before.size()), false, "input channel j"},
               Axis{lo / 1.5, hi * 1.5, true, "max|x_j| (log)"},
               p.fold.empty() ? "Per-channel max|x|" : "Per-channel max|x| before (grey) / after LAE");
  const char* c = strategy_color(p.strategy);
  plot.polyline(pooled(before, 360), p.fold.empty() ? c : "#9e9e9e", 1.0);
  if (!p.fold.empty()) plot.polyline(pooled(after, 360), c, 1.0);
  if (p.quant.mode == model::ActQuant::static_)
    plot.hline(127.0 * p.quant.scale, "#c62828", "static clip 127Δ");
  return plot.str();
}

std::string act_hist_chart(const PointProbe& p) {
  const auto& hb = p.before.histogram();
  const auto& ha = p.after.histogram();
  int first = quant::kHistBins, last = 0;
  double cmax = 0;
  for (int b = 1; b < quant::kHistBins - 1; ++b)
    if (hb[size_t(b)] || ha[size_t(b)]) {
      first = std::min(first, b), last = std::max(last, b);
      cmax = std::max({cmax, double(hb[size_t(b)]), double(ha[size_t(b)])});
    }
  if (first > last) return "";
  first = std::max(1, first - 2);
  last = std::min(quant::kHistBins - 2, last + 2);
  double xlo = quant::hist_lower_edge(first), xhi = quant::hist_lower_edge(last + 1);
  if (p.quant.mode == model::ActQuant::static_) {
    xlo = std::min(xlo, 0.25 * p.quant.scale);
    xhi = std::max(xhi, 140.0 * p.quant.scale);
  }
  SvgPlot plot(540, 250, Axis{xlo, xhi, true, "|x| (log)"}, Axis{0.8, cmax * 2, true, "count (log)"},
               p.fold.empty() ? "Activation |x| histogram (probe rows)"
                              : "Activation |x| before (grey) / after LAE");
  auto series = [&](const std::vector<uint64_t>& h) {
    std::vector<double> edges, counts;
    for (int b = first; b <= last; ++b) {
      edges.push_back(quant::hist_lower_edge(b));
      counts.push_back(double(h[size_t(b)]));
    }
    edges.push_back(quant::hist_lower_edge(last + 1));
    return std::make_pair(edges, counts);
  };
  const char* c = strategy_color(p.strategy);
  if (p.quant.mode == model::ActQuant::static_) {
    const double d = p.quant.scale;
    plot.shade_x(xlo, 0.5 * d, "#c62828", 0.08, "rounds to 0 (|x| < Δ/2)");
    plot.shade_x(0.5 * d, 127 * d, "#2e7d32", 0.05, "int8 range");
    plot.vline(0.5 * d, "#c62828", "Δ/2");
    plot.vline(127 * d, "#c62828", "127Δ clip");
  }
  if (!p.fold.empty()) {
    auto [e, c0] = series(p.before.histogram());
    plot.steps(e, c0, "#9e9e9e", 0.25, "before LAE");
  }
  auto [e, c1] = series(p.fold.empty() ? p.before.histogram() : p.after.histogram());
  plot.steps(e, c1, c, 0.3, p.fold.empty() ? "|x|" : "after LAE");
  return plot.str();
}

// Step series of a code histogram: code c spans [c − 0.5, c + 0.5).
std::pair<std::vector<double>, std::vector<double>> code_series(const CodeHistogram& h) {
  std::vector<double> edges, counts;
  for (int c = h.lo; c <= h.hi + 1; ++c) edges.push_back(double(c) - 0.5);
  for (uint64_t n : h.counts) counts.push_back(double(n));
  return {edges, counts};
}

// The int8 codes the point's activation quantizer produced on the probe rows
// (after LAE), log counts, the ±127 saturation ends marked.
std::string act_code_chart(const PointProbe& p) {
  const CodeHistogram& h = p.act_codes;
  if (h.empty() || h.total() == 0) return "";
  double cmax = 1;
  for (uint64_t c : h.counts) cmax = std::max(cmax, double(c));
  const bool st = p.quant.mode == model::ActQuant::static_;
  const std::string title =
      st ? fmt::format("Int8 activation codes, static Δ: {} saturated ({})", h.saturated,
                       pct(h.saturated_frac()))
         : fmt::format("Int8 activation codes, per-token Δ_t: {} at ±127", pct(h.end_frac()));
  SvgPlot plot(540, 250, Axis{double(h.lo) - 3, double(h.hi) + 3, false, "int8 code q = round(x′/Δ)"},
               Axis{0.8, cmax * 2, true, "count (log)"}, title);
  const char* c = strategy_color(p.strategy);
  plot.shade_x(double(h.lo) - 3, double(h.lo) + 0.5, "#c62828", 0.10,
               fmt::format("code {}: {} values", h.lo, h.counts.front()));
  plot.shade_x(double(h.hi) - 0.5, double(h.hi) + 3, "#c62828", 0.10,
               fmt::format("code {}: {} values", h.hi, h.counts.back()));
  plot.vline(double(h.lo), "#c62828", st ? "clip −127" : "−127");
  plot.vline(double(h.hi), "#c62828", st ? "clip +127" : "+127");
  auto [e, n] = code_series(h);
  plot.steps(e, n, c, 0.3,
             fmt::format("{} codes, {} saturated ({})", h.total(), h.saturated,
                         pct(h.saturated_frac())));
  return plot.str();
}

const char* kCodeColors[] = {"#1565c0", "#ef6c00", "#2e7d32", "#6a1b9a", "#c62828"};
const char* kCodeNames[] = {"blue", "orange", "green", "purple", "red"};

std::string short_name(const std::string& tensor);

// The stored weight codes of the point's tensors (one chart per code range),
// each tensor its own colour, log counts.
std::string weight_code_charts(const PointProbe& p) {
  std::string out;
  std::vector<bool> done(p.tensors.size(), false);
  for (size_t i = 0; i < p.tensors.size(); ++i) {
    const CodeHistogram& h0 = p.tensors[i].codes;
    if (done[i] || h0.empty()) continue;
    double cmax = 1;
    std::vector<size_t> group;
    for (size_t j = i; j < p.tensors.size(); ++j) {
      const CodeHistogram& h = p.tensors[j].codes;
      if (done[j] || h.empty() || h.lo != h0.lo || h.hi != h0.hi) continue;
      done[j] = true;
      group.push_back(j);
      for (uint64_t c : h.counts) cmax = std::max(cmax, double(c));
    }
    std::string names;
    for (size_t g = 0; g < group.size(); ++g)
      names += fmt::format("{}{} ({})", g ? ", " : "", short_name(p.tensors[group[g]].name),
                           kCodeNames[g % 5]);
    const int span = h0.hi - h0.lo;
    SvgPlot plot(540, 250, Axis{double(h0.lo) - 0.5 - span * 0.02, double(h0.hi) + 0.5 + span * 0.02,
                                false, fmt::format("stored weight code ({}..{})", h0.lo, h0.hi)},
                 Axis{0.8, cmax * 2, true, "count (log)"},
                 fmt::format("Stored weight codes: {}", names));
    for (size_t g = 0; g < group.size(); ++g) {
      const TensorProbe& t = p.tensors[group[g]];
      auto [e, n] = code_series(t.codes);
      plot.steps(e, n, kCodeColors[g % 5], 0.0,
                 fmt::format("{} {}: {} codes, {} at the ends {}/{}", short_name(t.name), t.type,
                             t.codes.total(), pct(t.codes.end_frac()), t.codes.lo, t.codes.hi));
    }
    out += plot.str();
  }
  return out;
}

// "blk.3.attn_q.weight" -> "attn_q".
std::string short_name(const std::string& tensor) {
  std::string s = tensor;
  if (s.rfind("blk.", 0) == 0) {
    const size_t dot = s.find('.', 4);
    if (dot != std::string::npos) s = s.substr(dot + 1);
  }
  const size_t w = s.rfind(".weight");
  if (w != std::string::npos && w + 7 == s.size()) s.resize(w);
  return s;
}

std::string weight_chart(const TensorProbe& t, const std::string& color) {
  double cmax = 1;
  for (size_t i = 0; i < t.hist_fp.counts.size(); ++i)
    cmax = std::max({cmax, double(t.hist_fp.counts[i]), double(t.hist_q.counts[i])});
  SvgPlot plot(360, 220, Axis{t.hist_fp.lo, t.hist_fp.hi, false, "weight value"},
               Axis{0.8, cmax * 2, true, "count (log)"},
               fmt::format("{} {}: grey FP, line quantized", short_name(t.name), t.type));
  auto series = [&](const LinearHistogram& h) {
    std::vector<double> edges, counts;
    const double w = (h.hi - h.lo) / double(h.counts.size());
    for (size_t i = 0; i <= h.counts.size(); ++i) edges.push_back(h.lo + w * double(i));
    for (uint64_t c : h.counts) counts.push_back(double(c));
    return std::make_pair(edges, counts);
  };
  auto [e0, c0] = series(t.hist_fp);
  auto [e1, c1] = series(t.hist_q);
  plot.steps(e0, c0, "#9e9e9e", 0.35, "FP (folded)");
  plot.steps(e1, c1, color, 0.0, "quantized");
  return plot.str();
}

}  // namespace

const std::vector<float>& channel_max_before(const ReportInput& in, const PointProbe& p) {
  if (in.stats) {
    const auto it = in.stats->points.find(p.name);
    if (it != in.stats->points.end() && it->second.channels() == p.before.channels())
      return it->second.max_abs();
  }
  return p.before.max_abs();
}

std::optional<double> point_kld(const ReportInput& in, const std::string& point) {
  const auto k = kld_by_point(in);
  const auto it = k.find(point);
  if (it == k.end()) return std::nullopt;
  return it->second.first;
}

std::string report_json(const ReportInput& in) {
  const auto& spec = in.pair->spec;
  const auto& cfg = in.pair->cfg;
  json pts = json::array();
  const auto kld = kld_by_point(in);
  for (const PointProbe& p : in.points) {
    const auto& before = channel_max_before(in, p);
    json tensors = json::array();
    for (const TensorProbe& t : p.tensors)
      tensors.push_back(json{{"name", t.name}, {"type", t.type}, {"n", t.n}, {"k", t.k},
                             {"weight_nmse", t.weight_nmse}, {"w_absmax", t.w_absmax},
                             {"out_nmse", t.out_nmse}, {"hist_fp", hist_json(t.hist_fp)},
                             {"hist_q", hist_json(t.hist_q)}, {"codes", codes_json(t.codes)}});
    json top = json::array();
    for (const TopRow& r : p.top)
      top.push_back(json{{"value", r.value}, {"channel", r.channel}, {"seq", r.seq},
                         {"pos", r.pos}, {"token", r.token}, {"context", r.context}});
    json j{{"name", p.name},
           {"layer", p.layer},
           {"kind", p.kind},
           {"strategy", p.strategy},
           {"mode", std::string(model::act_quant_name(p.quant.mode))},
           {"lae", p.quant.lae},
           {"bound", p.quant.bound},
           {"bound_lae", p.quant.bound_lae},
           {"scale", p.quant.scale},
           {"channel_max_before", before},
           {"channel_max_after", after_fold(before, p.fold)},
           {"channel_max_source", in.stats ? "calibration statistics" : "probe"},
           {"fold", p.fold},
           {"probe",
            json{{"tokens", p.before.tokens()},
                 {"bound_before", p.before.bound()},
                 {"bound_after", p.after.bound()},
                 {"p99_after", p.after.percentile_abs(0.99)},
                 {"p9999_after", p.after.percentile_abs(0.9999)},
                 {"hist_before", p.before.histogram()},
                 {"hist_after", p.after.histogram()},
                 {"act_nmse", p.act_nmse},
                 {"zero_frac", p.zero_frac},
                 {"clip_frac", p.clip_frac},
                 {"act_codes", codes_json(p.act_codes)},
                 {"rows_sampled", p.rows_sampled},
                 {"out_nmse", p.out_nmse},
                 {"top_rows", top}}},
           {"tensors", tensors}};
    const auto it = kld.find(p.name);
    if (it != kld.end()) j["kld_alone"] = it->second.first, j["kld_rank"] = it->second.second;
    pts.push_back(std::move(j));
  }
  json out{{"format", "fptq-report"},
           {"version", 1},
           {"model", in.fp_path},
           {"quantized", in.q_path},
           {"stats", in.stats_path},
           {"config",
            json{{"architecture", cfg.architecture}, {"n_layer", cfg.n_layer}, {"dim", cfg.dim},
                 {"ffn_dim", cfg.ffn_dim}, {"n_head", cfg.n_head}, {"n_kv_head", cfg.n_kv_head},
                 {"n_vocab", cfg.n_vocab}}},
           {"quantization",
            json{{"scheme", spec.scheme}, {"tool_version", spec.tool_version},
                 {"weight_method", spec.weight_method}, {"group_size", spec.group_size},
                 {"scale_rule", spec.scale_rule}, {"v0", spec.v0}, {"v1", spec.v1},
                 {"block_linear_bpw", block_linear_bpw(*in.pair, {})}}},
           {"calibration",
            json{{"source", spec.calib_source}, {"samples", spec.calib_samples},
                 {"seqlen", spec.calib_seqlen}, {"seed", spec.calib_seed},
                 {"digest", spec.calib_digest}}},
           {"probe",
            json{{"source", in.probe.source}, {"samples", in.probe.samples},
                 {"seqlen", in.probe.seqlen}, {"seed", in.probe.seed}}},
           {"points", pts},
           {"notes", in.notes}};
  if (in.baseline) {
    const Baseline& b = *in.baseline;
    out["baseline"] = json{{"text", b.text}, {"protocol", b.protocol}, {"ctx", b.ctx},
                           {"windows", b.windows}, {"predictions", b.predictions},
                           {"fp_ppl", b.fp_ppl}, {"fp_ppl_stderr", b.fp_ppl_stderr},
                           {"quantized", figures(b.q)}};
  }
  if (in.sensitivity) out["sensitivity"] = json::parse(sensitivity_json(*in.sensitivity));
  return out.dump(1) + "\n";
}

std::string report_html(const ReportInput& in) {
  const auto& spec = in.pair->spec;
  const auto& cfg = in.pair->cfg;
  const auto kld = kld_by_point(in);
  std::string h;
  h += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n";
  h += "<title>fptq report: " + html_escape(in.q_path) + "</title>\n<style>" + kCss +
       "</style></head><body>\n";
  h += "<h1>fptq quantization report</h1>\n";
  h += "<p class=\"note\">One self-contained page: every chart is inline SVG (hover a mark for its "
       "value); no scripts, nothing fetched.</p>\n";
  h += "<nav><a href=\"#settings\">settings</a><a href=\"#overview\">overview</a><a "
       "href=\"#layers\">layer table</a>";
  if (in.sensitivity) h += "<a href=\"#sensitivity\">sensitivity</a>";
  h += "<a href=\"#details\">per layer</a></nav>\n";

  // Settings.
  std::map<std::string, int64_t> counts;
  for (const PointProbe& p : in.points) ++counts[p.strategy];
  h += "<h2 id=\"settings\">Model and settings</h2>\n<table class=\"kv\">\n";
  auto kv = [&](const std::string& k, const std::string& v) {
    h += "<tr><td>" + html_escape(k) + "</td><td>" + html_escape(v) + "</td></tr>\n";
  };
  kv("FP model", in.fp_path);
  kv("quantized model", in.q_path);
  kv("architecture", fmt::format("{}: {} blocks, dim {}, FFN {}, {} heads ({} KV), vocabulary {}",
                                 cfg.architecture, cfg.n_layer, cfg.dim, cfg.ffn_dim, cfg.n_head,
                                 cfg.n_kv_head, cfg.n_vocab));
  kv("scheme", fmt::format("{} (fptq {}), weights {} int4 group {} scale rule {}", spec.scheme,
                           spec.tool_version, spec.weight_method, spec.group_size, spec.scale_rule));
  kv("policy", fmt::format("v0 = {:g}, v1 = {:g}", spec.v0, spec.v1));
  kv("strategies", fmt::format("static {} / LAE+static {} / dynamic {} / fp {}", counts["static"],
                               counts["lae_static"], counts["dynamic"], counts["fp"]));
  kv("bits per weight", fmt::format("{:.3f} (block linear weights, as written)",
                                    block_linear_bpw(*in.pair, {})));
  kv("calibration", fmt::format("{} × {} tokens from {} (seed {}){}", spec.calib_samples,
                                spec.calib_seqlen, spec.calib_source, spec.calib_seed,
                                spec.calib_digest.empty() ? "" : ", sha256 " + spec.calib_digest));
  kv("statistics file", in.stats_path.empty() ? "not given: per-channel maxima from the probe" : in.stats_path);
  kv("probe", fmt::format("{} × {} tokens from {} (seed {}): activation histograms, output error, "
                          "range-setting tokens",
                          in.probe.samples, in.probe.seqlen, in.probe.source, in.probe.seed));
  h += "</table>\n";
  if (in.baseline) {
    const Baseline& b = *in.baseline;
    h += "<h3>Baseline: FP vs quantized on " + html_escape(b.text) + "</h3>\n";
    h += fmt::format("<p class=\"facts\">protocol {}, ctx {}, {} windows, {} predictions; the "
                     "quantized model on the F32 path with exact int8 activation emulation</p>\n",
                     b.protocol, b.ctx, b.windows, b.predictions);
    h += "<table><tr><th>model</th><th>PPL ± stderr</th><th>ΔPPL</th><th>mean KLD</th><th>KLD "
         "p99</th><th>top-1 agreement</th></tr>\n";
    h += fmt::format("<tr><td>FP</td><td class=\"n\">{:.4f} ± {:.4f}</td><td>—</td><td>—</td><td>—</td><td>—</td></tr>\n",
                     b.fp_ppl, b.fp_ppl_stderr);
    h += fmt::format(
        "<tr><td>{}</td><td class=\"n\">{:.4f} ± {:.4f}</td><td class=\"n\">{:+.4f}</td><td "
        "class=\"n\">{:.5f} ± {:.5f}</td><td class=\"n\">{:.4f}</td><td class=\"n\">{:.2f}%</td></tr>\n",
        html_escape(spec.scheme), b.q.ppl, b.q.ppl_stderr, b.q.ppl - b.fp_ppl, b.q.kld,
        b.q.kld_stderr, b.q.kld_p99, 100 * b.q.top1);
    h += "</table>\n";
  }
  for (const std::string& n : in.notes) h += "<p class=\"note\">" + html_escape(n) + "</p>\n";

  // Overview.
  h += "<h2 id=\"overview\">Overview</h2>\n" + legend() + "\n<div id=\"overview-chart\">" +
       overview_chart(in) + "</div>\n";
  h += "<div id=\"error-chart\">" + error_chart(in) + "</div>\n";
  const std::string kc = kld_chart(in);
  if (!kc.empty()) h += "<div id=\"kld-chart\">" + kc + "</div>\n";

  // Layer table.
  h += "<h2 id=\"layers\">Per layer</h2>\n";
  h += "<p class=\"note\">B: calibrated bound before LAE; B′: after; Δ: static scale; zero / clip: "
       "share of the probe's activations that round to 0 / saturate under Δ; act NMSE: activation "
       "quantization error; weight NMSE: worst consumer tensor; output NMSE: the layer's output "
       "error on the probe rows, FP activations in; KLD: the model's KL divergence with only this "
       "layer quantized.</p>\n";
  h += "<table><tr><th>point</th><th>strategy</th><th>B</th><th>B′</th><th>Δ</th><th>zero</th>"
       "<th>clip</th><th>act NMSE</th><th>weight NMSE</th><th>output NMSE</th><th>KLD alone "
       "(rank)</th></tr>\n";
  for (const PointProbe& p : in.points) {
    double wn = 0;
    for (const TensorProbe& t : p.tensors) wn = std::max(wn, t.weight_nmse);
    const bool st = p.quant.mode == model::ActQuant::static_;
    const auto it = kld.find(p.name);
    h += fmt::format(
        "<tr><td><a href=\"#{}\">{}</a></td><td class=\"strategy\" style=\"color:{}\">{}</td><td "
        "class=\"n\">{:.4g}</td><td class=\"n\">{:.4g}</td><td class=\"n\">{}</td><td "
        "class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td "
        "class=\"n\">{}</td><td class=\"n\">{}</td></tr>\n",
        p.name, p.name, strategy_color(p.strategy), p.strategy, p.quant.bound, p.quant.bound_lae,
        st ? sci(p.quant.scale) : "—", st ? pct(p.zero_frac) : "—", st ? pct(p.clip_frac) : "—",
        sci(p.act_nmse), sci(wn), sci(p.out_nmse),
        it == kld.end() ? "—" : fmt::format("{:.4g} ({})", it->second.first, it->second.second));
  }
  h += "</table>\n";

  if (in.sensitivity) {
    const SensitivityResult& s = *in.sensitivity;
    h += "<h2 id=\"sensitivity\">Sensitivity ranking</h2>\n";
    h += fmt::format(
        "<p class=\"facts\">One unit quantized at a time ({}), the rest FP, on {} ({} windows of "
        "{}, {} predictions). FP PPL {:.4f}; everything quantized: PPL {:.4f}, KLD {:.5f}.</p>\n",
        html_escape(s.by), html_escape(s.text), s.windows, s.ctx, s.predictions, s.fp_ppl,
        s.all.ppl, s.all.kld);
    h += "<table><tr><th>rank</th><th>unit</th><th>KLD ± stderr</th><th>KLD p99</th><th>ΔPPL</th>"
         "<th>top-1</th><th>share of all-quantized KLD</th></tr>\n";
    for (size_t i = 0; i < s.rows.size() && i < 25; ++i) {
      const SensRow& r = s.rows[i];
      h += fmt::format(
          "<tr><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{:.5f} ± {:.5f}</td><td "
          "class=\"n\">{:.4f}</td><td class=\"n\">{:+.4f}</td><td class=\"n\">{:.2f}%</td><td "
          "class=\"n\">{}</td></tr>\n",
          i + 1, html_escape(r.unit.name), r.fig.kld, r.fig.kld_stderr, r.fig.kld_p99, r.dppl,
          100 * r.fig.top1, s.all.kld > 0 ? pct(r.fig.kld / s.all.kld) : "—");
    }
    h += "</table>\n";
  }

  // Per point details.
  h += "<h2 id=\"details\">Layer details</h2>\n";
  for (const PointProbe& p : in.points) {
    const char* c = strategy_color(p.strategy);
    h += fmt::format("<div class=\"point\" id=\"{}\"><h3>{} — <span style=\"color:{}\">{}</span></h3>\n",
                     p.name, p.name, c, p.strategy);
    std::string facts = fmt::format("B = {:.4g}, B′ = {:.4g}", p.quant.bound, p.quant.bound_lae);
    if (p.quant.mode == model::ActQuant::static_)
      facts += fmt::format(", static Δ = {:.4g} (int8 range [{:.3g}, {:.4g}]); {} of the probe's "
                           "activations round to 0, {} saturate",
                           p.quant.scale, 0.5 * p.quant.scale, 127 * p.quant.scale,
                           pct(p.zero_frac), pct(p.clip_frac));
    else if (p.quant.mode == model::ActQuant::dynamic && p.quant.group > 0)
      facts += fmt::format("; dynamic int8 with one Δ per {} values of a token (max|x| / 127 of "
                           "each group at run time)",
                           p.quant.group);
    else if (p.quant.mode == model::ActQuant::dynamic)
      facts += "; per-token dynamic int8 (Δ_t = max|x_t| / 127 at run time)";
    else
      facts += "; activations kept in floating point";
    if (!p.fold.empty()) {
      const auto [mn, mx] = std::minmax_element(p.fold.begin(), p.fold.end());
      facts += fmt::format("; LAE factors s_j in [{:.3g}, {:.3g}]", *mn, *mx);
    }
    facts += fmt::format("; probe: {} tokens, p99.99 |x′| = {:.4g}, activation NMSE {:.3g}, "
                         "output NMSE {:.3g} ({} rows)",
                         p.before.tokens(), p.after.percentile_abs(0.9999), p.act_nmse, p.out_nmse,
                         p.rows_sampled);
    if (const auto it = kld.find(p.name); it != kld.end())
      facts += fmt::format("; KLD alone {:.4g} (rank {})", it->second.first, it->second.second);
    h += "<p class=\"facts\">" + html_escape(facts) + "</p>\n<div class=\"charts\">";
    h += channel_chart(in, p);
    h += act_hist_chart(p);
    h += act_code_chart(p);
    h += weight_code_charts(p);
    h += "</div>\n<div class=\"charts\">";
    for (const TensorProbe& t : p.tensors) h += weight_chart(t, c);
    h += "</div>\n<table><tr><th>tensor</th><th>type</th><th>shape</th><th>weight NMSE</th><th>output "
         "NMSE</th></tr>\n";
    for (const TensorProbe& t : p.tensors)
      h += fmt::format("<tr><td>{}</td><td>{}</td><td>{} × {}</td><td class=\"n\">{}</td><td "
                       "class=\"n\">{}</td></tr>\n",
                       html_escape(t.name), t.type, t.n, t.k, sci(t.weight_nmse), sci(t.out_nmse));
    h += "</table>\n";
    if (!p.top.empty()) {
      h += "<p class=\"note\">The probe rows with the largest max|x| (before LAE): the tokens that set "
           "this layer's range.</p>\n<table><tr><th>row max|x|</th><th>channel</th><th>sequence:position</th><th>text "
           "(the token in [brackets])</th></tr>\n";
      for (const TopRow& r : p.top)
        h += fmt::format("<tr><td class=\"n\">{:.4g}</td><td class=\"n\">{}</td><td>{}:{}</td><td "
                         "class=\"mono\">{}</td></tr>\n",
                         r.value, r.channel, r.seq, r.pos, html_escape(r.context));
      h += "</table>\n";
    }
    h += "</div>\n";
  }
  h += "</body></html>\n";
  return h;
}

}  // namespace fptq::report
