#include "report/sensitivity.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/input_file.h"
#include "model/engine_plan.h"
#include "model/model.h"
#include "model/weights.h"
#include "quant/emulation_observer.h"

namespace fptq::report {
namespace {

using nlohmann::json;

bool is_attention(const std::string& p) {
  return p.find("attn_") != std::string::npos;
}

std::string regex_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (std::string_view(".^$|()[]{}*+?\\").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

json figures_json(const EvalFigures& f) {
  return json{{"ppl", f.ppl},   {"ppl_stderr", f.ppl_stderr}, {"kld", f.kld},
              {"kld_stderr", f.kld_stderr}, {"kld_p99", f.kld_p99}, {"top1", f.top1}};
}

double num(const json& j, const char* key, const std::string& what) {
  if (!j.is_object() || !j.contains(key) || !j.at(key).is_number())
    fail("{}: field '{}' missing or not a number", what, key);
  const double v = j.at(key).get<double>();
  if (!std::isfinite(v)) fail("{}: field '{}' is not finite", what, key);
  return v;
}

std::string str(const json& j, const char* key, const std::string& what) {
  if (!j.is_object() || !j.contains(key) || !j.at(key).is_string())
    fail("{}: field '{}' missing or not a string", what, key);
  return j.at(key).get<std::string>();
}

EvalFigures parse_figures(const json& j, const std::string& what) {
  EvalFigures f;
  f.ppl = num(j, "ppl", what);
  f.ppl_stderr = num(j, "ppl_stderr", what);
  f.kld = num(j, "kld", what);
  f.kld_stderr = num(j, "kld_stderr", what);
  f.kld_p99 = num(j, "kld_p99", what);
  f.top1 = num(j, "top1", what);
  return f;
}

}  // namespace

UnitBy parse_unit_by(const std::string& s) {
  if (s == "layer") return UnitBy::layer;
  if (s == "group") return UnitBy::group;
  fail("--by '{}': expected layer or group", s);
}

std::vector<SensUnit> sensitivity_units(const model::LlamaConfig& cfg, UnitBy by) {
  const std::vector<std::string> pts = all_points(cfg);
  std::vector<SensUnit> out;
  if (by == UnitBy::layer) {
    for (const auto& p : pts) out.push_back({p, {p}});
    return out;
  }
  SensUnit attn{"attention", {}}, ffn{"ffn", {}};
  for (const auto& p : pts) (is_attention(p) ? attn : ffn).points.push_back(p);
  out.push_back(attn);
  out.push_back(ffn);
  for (int64_t l = 0; l < cfg.n_layer; ++l) {
    SensUnit u{fmt::format("blk.{}", l), {}};
    for (const auto& p : pts)
      if (p.rfind(u.name + ".", 0) == 0) u.points.push_back(p);
    out.push_back(u);
  }
  return out;
}

EvalFigures evaluate_emulated(std::shared_ptr<const io::ModelFile> file,
                              const model::QuantSpec& spec, const tok::Tokenizer& tok,
                              std::span<const int32_t> tokens,
                              const eval::PerplexityOptions& popts, const eval::KlBase& base,
                              ThreadPool& pool) {
  const model::Model m(std::move(file), pool, model::LoadOptions{model::RunMode::emulate});
  quant::EmulationObserver obs(spec);
  eval::PerplexityOptions o = popts;
  o.observer = &obs;
  const eval::KlCompareRun r = eval::perplexity_vs_kl_base(m, tok, tokens, o, base, pool);
  EvalFigures f;
  f.ppl = r.ppl.stats.ppl;
  f.ppl_stderr = r.ppl.stats.ppl_stderr;
  f.kld = r.kl.mean;
  f.kld_stderr = r.kl.mean_stderr;
  f.kld_p99 = r.kl.p99;
  f.top1 = r.kl.top1;
  return f;
}

EvalFigures evaluate_mixed(const QuantizedPair& pair, const std::set<std::string>& quantized,
                           const tok::Tokenizer& tok, std::span<const int32_t> tokens,
                           const eval::PerplexityOptions& popts, const eval::KlBase& base,
                           ThreadPool& pool) {
  return evaluate_emulated(mixed_model_file(pair, quantized), mixed_spec(pair, quantized), tok,
                           tokens, popts, base, pool);
}

void sort_ranking(std::vector<SensRow>& rows) {
  std::stable_sort(rows.begin(), rows.end(),
                   [](const SensRow& a, const SensRow& b) { return a.fig.kld > b.fig.kld; });
}

SensitivityResult rank_units(const QuantizedPair& pair, const std::vector<SensUnit>& units,
                             const tok::Tokenizer& tok, std::span<const int32_t> tokens,
                             const eval::PerplexityOptions& popts, const eval::KlBase& base,
                             double fp_ppl, ThreadPool& pool, const SensProgressFn& progress) {
  SensitivityResult r;
  r.fp_ppl = fp_ppl;
  for (size_t i = 0; i < units.size(); ++i) {
    SensRow row;
    row.unit = units[i];
    row.fig = evaluate_mixed(pair, std::set<std::string>(units[i].points.begin(), units[i].points.end()),
                             tok, tokens, popts, base, pool);
    row.dppl = row.fig.ppl - fp_ppl;
    if (progress) progress(int64_t(i) + 1, int64_t(units.size()), row);
    r.rows.push_back(std::move(row));
  }
  sort_ranking(r.rows);
  return r;
}

std::string sensitivity_json(const SensitivityResult& r) {
  json rows = json::array();
  for (size_t i = 0; i < r.rows.size(); ++i) {
    const SensRow& s = r.rows[i];
    json j = figures_json(s.fig);
    j["rank"] = i + 1;
    j["unit"] = s.unit.name;
    j["points"] = s.unit.points;
    j["dppl"] = s.dppl;
    rows.push_back(j);
  }
  json out{{"format", "fptq-sensitivity"},
           {"version", 1},
           {"model", r.model},
           {"quantized", r.quantized},
           {"text", r.text},
           {"scheme", r.scheme},
           {"by", r.by},
           {"ctx", r.ctx},
           {"windows", r.windows},
           {"predictions", r.predictions},
           {"fp_ppl", r.fp_ppl},
           {"all", figures_json(r.all)},
           {"ranking", rows}};
  return out.dump(1) + "\n";
}

SensitivityResult parse_sensitivity_json(const std::string& text, const std::string& what) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    fail("{}: not JSON: {}", what, e.what());
  }
  if (!j.is_object() || j.value("format", "") != "fptq-sensitivity")
    fail("{}: not a sensitivity file (format != fptq-sensitivity)", what);
  if (!j.contains("version") || !j.at("version").is_number_integer() || j.at("version").get<int>() != 1)
    fail("{}: unsupported version", what);
  SensitivityResult r;
  r.model = str(j, "model", what);
  r.quantized = str(j, "quantized", what);
  r.text = str(j, "text", what);
  r.scheme = str(j, "scheme", what);
  r.by = str(j, "by", what);
  r.ctx = int64_t(num(j, "ctx", what));
  r.windows = int64_t(num(j, "windows", what));
  r.predictions = int64_t(num(j, "predictions", what));
  r.fp_ppl = num(j, "fp_ppl", what);
  if (!j.contains("all")) fail("{}: field 'all' missing", what);
  r.all = parse_figures(j.at("all"), what + " all");
  if (!j.contains("ranking") || !j.at("ranking").is_array()) fail("{}: field 'ranking' missing", what);
  for (const json& e : j.at("ranking")) {
    const std::string w = what + " ranking";
    SensRow row;
    row.unit.name = str(e, "unit", w);
    if (!e.contains("points") || !e.at("points").is_array()) fail("{}: 'points' missing", w);
    for (const json& p : e.at("points")) {
      if (!p.is_string()) fail("{}: a point is not a string", w);
      row.unit.points.push_back(p.get<std::string>());
    }
    row.fig = parse_figures(e, w);
    row.dppl = num(e, "dppl", w);
    r.rows.push_back(std::move(row));
  }
  return r;
}

// A ranking holds one row per layer input or group: far below this.
constexpr uint64_t kMaxRankingBytes = uint64_t(256) << 20;

SensitivityResult read_sensitivity(const std::string& path) {
  return parse_sensitivity_json(read_text_input(path, "sensitivity ranking", kMaxRankingBytes),
                                path);
}

std::string format_ranking(const SensitivityResult& r, int64_t limit) {
  std::string out = fmt::format(
      "FP PPL {:.4f}; everything quantized: PPL {:.4f} (Δ {:+.4f}), KLD {:.5f} ± {:.5f}, top-1 "
      "{:.2f}%\n\n",
      r.fp_ppl, r.all.ppl, r.all.ppl - r.fp_ppl, r.all.kld, r.all.kld_stderr, 100 * r.all.top1);
  out += "| rank | unit | ΔKLD (mean) | KLD p99 | ΔPPL | top-1 | share of all-quantized KLD |\n";
  out += "|---:|---|---:|---:|---:|---:|---:|\n";
  for (size_t i = 0; i < r.rows.size(); ++i) {
    if (limit > 0 && int64_t(i) >= limit) break;
    const SensRow& s = r.rows[i];
    out += fmt::format("| {} | {} | {:.5f} ± {:.5f} | {:.4f} | {:+.4f} | {:.2f}% | {} |\n", i + 1,
                       s.unit.name, s.fig.kld, s.fig.kld_stderr, s.fig.kld_p99, s.dppl,
                       100 * s.fig.top1,
                       r.all.kld > 0 ? fmt::format("{:.1f}%", 100 * s.fig.kld / r.all.kld) : "—");
  }
  return out;
}

std::set<std::string> top_points(const SensitivityResult& r, int64_t k) {
  std::set<std::string> out;
  for (const SensRow& s : r.rows) {
    if (int64_t(out.size()) >= k) break;
    if (s.unit.points.size() == 1 && s.unit.points[0] == s.unit.name) out.insert(s.unit.name);
  }
  return out;
}

std::set<std::string> random_points(const std::vector<std::string>& points, int64_t k,
                                    uint64_t seed) {
  std::vector<std::string> v = points;
  std::mt19937_64 rng(seed);
  // Fisher–Yates with rejection-sampled indices (no distribution objects,
  // whose output differs between standard libraries).
  for (size_t i = v.size(); i > 1; --i) {
    const uint64_t n = i;
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = rng(); while (x >= limit);
    std::swap(v[i - 1], v[size_t(x % n)]);
  }
  std::set<std::string> out;
  for (int64_t i = 0; i < k && i < int64_t(v.size()); ++i) out.insert(v[size_t(i)]);
  return out;
}

std::vector<std::string> keep_fp_patterns(const model::LlamaConfig& cfg,
                                          const std::set<std::string>& points) {
  std::vector<std::string> out;
  model::for_each_weight(cfg, [&](const model::WeightSpec& w) {
    if (w.layer < 0 || !w.is_linear()) return;
    if (points.count(model::observation_point_name(w.layer, model::input_of(w.role))))
    {
      std::string pat(1, '^');
      pat += regex_escape(w.name);
      pat += '$';
      out.push_back(std::move(pat));
    }
  });
  return out;
}

}  // namespace fptq::report
