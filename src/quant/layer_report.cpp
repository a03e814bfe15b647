#include "quant/layer_report.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include <fmt/format.h>

#include "core/atomic_file.h"
#include "core/error.h"

namespace fptq::quant {
namespace {

std::string strategy_label(const PointPlan& p) {
  switch (p.strategy) {
    case ActMode::Static:
      return p.fold_kind == Equalization::SmoothQuant ? "SQ+static"
             : p.fold_kind == Equalization::Awq       ? "AWQ+static"
                                                      : "static";
    case ActMode::LaeStatic: return "LAE+static";
    case ActMode::Dynamic:
      return p.fold_kind == Equalization::SmoothQuant ? "SQ+dynamic"
             : p.fold_kind == Equalization::Awq       ? "AWQ+dynamic"
                                                      : "dynamic";
    case ActMode::Fp: return "fp";
  }
  return "?";
}

std::string top_string(const PointPlan& p) {
  std::string s;
  for (const auto& [j, v] : p.top) s += fmt::format("{}{}:{:.4g}", s.empty() ? "" : " ", j, v);
  return s;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + "\"";
}

bool ends_with(const std::string& s, std::string_view suf) {
  return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

std::string type_name(io::GgmlType t) { return std::string(io::type_info(t).name); }

// Lines "WHAT\tNAME" grouped by WHAT: "  WHAT: N tensors (first, second, ...)".
std::string grouped(const std::vector<std::string>& lines) {
  std::vector<std::pair<std::string, std::vector<std::string>>> groups;
  for (const std::string& l : lines) {
    const size_t tab = l.find('\t');
    const std::string what = l.substr(0, tab), name = l.substr(tab + 1);
    auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == what; });
    if (it == groups.end()) groups.push_back({what, {name}});
    else it->second.push_back(name);
  }
  std::string s;
  for (const auto& [what, names] : groups) {
    std::string list;
    for (size_t i = 0; i < names.size() && i < 4; ++i) list += (i ? ", " : "") + names[i];
    if (names.size() > 4) list += ", ...";
    s += fmt::format("    {}: {} tensor(s) ({})\n", what, names.size(), list);
  }
  return s;
}

}  // namespace

std::string format_layer_table(const QuantPlan& plan) {
  std::string s = fmt::format(
      "layer table (scheme {}, v0 = {:g}, v1 = {:g}; B = max over channels of max|x|; B' after "
      "LAE/SmoothQuant; Δ = B'/127):\n",
      scheme_name(plan.options.scheme), plan.options.policy.v0, plan.options.policy.v1);
  s += fmt::format("  {:<24} {:>10}  {:<11} {:>9} {:>11}  {}\n", "point", "B", "strategy", "B'",
                   "Δ", "largest channels (index:max|x|)");
  for (const PointPlan& p : plan.points) {
    s += fmt::format("  {:<24} {:>10.4g}  {:<11} {:>9.4g} {:>11}  {}\n", p.name, p.bound,
                     strategy_label(p), p.bound_after,
                     p.scale > 0 ? fmt::format("{:.4g}", p.scale) : "-", top_string(p));
  }
  s += "strategies:";
  for (const auto& [name, n] : plan.strategy_counts()) s += fmt::format(" {} {},", name, n);
  s.back() = '\n';
  // Per point kind: where the bands fall.
  for (model::MatmulInput kind : model::kBlockInputs) {
    std::map<std::string, int64_t> c;
    float maxb = 0;
    std::string at;
    for (const PointPlan& p : plan.points) {
      if (p.kind != kind) continue;
      ++c[strategy_label(p)];
      if (p.bound >= maxb) {
        maxb = p.bound;
        at = p.name;
      }
    }
    std::string counts;
    for (const auto& [k, n] : c) counts += fmt::format("{}{} {}", counts.empty() ? "" : ", ", k, n);
    s += fmt::format("  {:<15} {}; largest B {:.4g} at {}\n", model::matmul_input_name(kind),
                     counts, maxb, at);
  }
  // Tensors not in the scheme's default format, grouped by reason.
  std::vector<std::string> lines;
  for (const TensorPlan& t : plan.tensors)
    if (t.fallback || t.kept_fp || t.kept_q8) lines.push_back(type_name(t.type) + "  " + t.note + "\t" + t.name);
  if (!lines.empty()) s += "tensors not in the scheme's default format:\n" + grouped(lines);
  return s;
}

std::string format_quantize_summary(const QuantizeReport& rep) {
  std::map<std::string, std::pair<int64_t, int64_t>> by_type;  // type -> (tensors, params)
  for (const TensorResult& r : rep.tensors) {
    auto& e = by_type[type_name(r.type) + (r.group > 0 && io::is_int4_type(r.type)
                                               ? fmt::format(" g{}", r.group)
                                               : "")];
    ++e.first;
    e.second += r.elements;
  }
  std::string s = fmt::format("summary ({}):\n", rep.output_path);
  s += fmt::format("  file size:        {} bytes ({:.2f} MiB)\n", rep.file_bytes,
                   double(rep.file_bytes) / (1024.0 * 1024.0));
  s += fmt::format("  bits per weight:  {:.3f} over linear weights ({} params), {:.3f} over all "
                   "tensors ({} params), {:.3f} over the whole file\n",
                   rep.bpw_linear(), rep.linear_params, rep.bpw_tensors(), rep.total_params,
                   rep.bpw_file());
  s += fmt::format("  engine bits:      {:.3f} per linear weight as the engine holds them (int4 "
                   "codes + one fp16 scale per group, Q8_0 8.5, F16 16)\n",
                   rep.bpw_linear_engine());
  s += "  tensor types:    ";
  for (const auto& [t, e] : by_type) s += fmt::format(" {} ×{} ({} params);", t, e.first, e.second);
  s.back() = '\n';
  s += "  activation points:";
  for (const auto& [name, n] : rep.plan.strategy_counts()) s += fmt::format(" {} {},", name, n);
  s.back() = '\n';
  const auto fb = rep.fallbacks();
  if (fb.empty()) {
    s += "  fallbacks:        none\n";
  } else {
    s += fmt::format("  fallbacks:        {} tensor(s)\n", fb.size());
    std::vector<std::string> lines;
    for (const TensorResult* r : fb) lines.push_back(type_name(r->type) + "  " + r->note + "\t" + r->name);
    s += grouped(lines);
  }
  for (const std::string& n : rep.notes) s += fmt::format("  note: {}\n", n);
  s += fmt::format("  time:             {:.2f} s (Hessians {:.2f} s, weights {:.2f} s)\n",
                   rep.seconds_total, rep.seconds_hessians, rep.seconds_weights);
  return s;
}

std::string layer_report_json(const QuantPlan& plan, const QuantizeReport* rep) {
  using nlohmann::json;
  const QuantizeOptions& o = plan.options;
  json j;
  j["format"] = "fptq-layer-report";
  j["version"] = 1;
  j["scheme"] = scheme_name(o.scheme);
  j["options"] = {{"v0", o.policy.v0},
                  {"v1", o.policy.v1},
                  {"group_size", o.int4.group},
                  {"scale_rule", scale_rule_name(o.int4.rule)},
                  {"gptq", scheme_traits(o.scheme).gptq},
                  {"smooth_alpha", o.smooth_alpha}};
  j["provenance"] = {{"source", plan.spec.calib_source},
                     {"samples", plan.spec.calib_samples},
                     {"seqlen", plan.spec.calib_seqlen},
                     {"seed", plan.spec.calib_seed},
                     {"text_digest", plan.spec.calib_digest}};
  json points = json::array();
  for (const PointPlan& p : plan.points) {
    json top = json::array();
    for (const auto& [ch, v] : p.top) top.push_back({{"channel", ch}, {"max_abs", v}});
    points.push_back({{"layer", p.layer},
                      {"point", p.name},
                      {"bound", p.bound},
                      {"top_channels", top},
                      {"strategy", strategy_label(p)},
                      {"run_mode", model::act_quant_name(p.run_mode())},
                      {"reason", p.reason},
                      {"bound_after", p.bound_after},
                      {"static_scale", p.scale}});
  }
  j["points"] = points;
  json tensors = json::array();
  for (size_t i = 0; i < plan.tensors.size(); ++i) {
    const TensorPlan& t = plan.tensors[i];
    json e = {{"name", t.name},   {"layer", t.layer},       {"type", type_name(t.type)},
              {"group", t.group}, {"fallback", t.fallback}, {"kept_fp", t.kept_fp}, {"kept_q8", t.kept_q8},
              {"note", t.note}};
    if (rep) {
      const TensorResult& r = rep->tensors[i];
      e["type"] = type_name(r.type);
      e["note"] = r.note;
      e["bytes"] = r.bytes;
      e["nmse"] = r.nmse;
    }
    tensors.push_back(e);
  }
  j["tensors"] = tensors;
  json counts = json::object();
  for (const auto& [name, n] : plan.strategy_counts()) counts[name] = n;
  j["counts"] = counts;
  if (rep) {
    j["summary"] = {{"output", rep->output_path},
                    {"file_bytes", rep->file_bytes},
                    {"bpw_linear", rep->bpw_linear()},
                    {"bpw_linear_engine", rep->bpw_linear_engine()},
                    {"bpw_tensors", rep->bpw_tensors()},
                    {"bpw_file", rep->bpw_file()},
                    {"linear_params", rep->linear_params},
                    {"total_params", rep->total_params},
                    {"fallbacks", rep->fallbacks().size()},
                    {"seconds", rep->seconds_total}};
  }
  return j.dump(1) + "\n";
}

std::string layer_report_csv(const QuantPlan& plan, const QuantizeReport* rep) {
  std::string s =
      "section,layer,name,bound,top_channels,strategy,bound_after,static_scale,type,group,"
      "fallback,nmse,note\n";
  for (const PointPlan& p : plan.points) {
    s += fmt::format("point,{},{},{},{},{},{},{},,,,,{}\n", p.layer, p.name, p.bound,
                     csv_field(top_string(p)), strategy_label(p), p.bound_after, p.scale,
                     csv_field(p.reason));
  }
  for (size_t i = 0; i < plan.tensors.size(); ++i) {
    const TensorPlan& t = plan.tensors[i];
    const TensorResult* r = rep ? &rep->tensors[i] : nullptr;
    s += fmt::format("tensor,{},{},,,,,,{},{},{},{},{}\n", t.layer, t.name,
                     type_name(r ? r->type : t.type), t.group, t.fallback ? 1 : 0,
                     r ? fmt::format("{}", r->nmse) : "", csv_field(r ? r->note : t.note));
  }
  return s;
}

void check_report_path(const std::string& path) {
  if (!ends_with(path, ".json") && !ends_with(path, ".csv"))
    fail("--report '{}': the name must end in .json or .csv", path);
}

void write_layer_report(const std::string& path, const QuantPlan& plan, const QuantizeReport* rep) {
  check_report_path(path);
  write_file_atomic(path, ends_with(path, ".json") ? layer_report_json(plan, rep)
                                                   : layer_report_csv(plan, rep));
}

}  // namespace fptq::quant
