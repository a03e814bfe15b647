#include "report/auto_keep.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "model/weights.h"

namespace fptq::report {
namespace {

int64_t layer_units(const SensitivityResult& r) {
  int64_t n = 0;
  for (const SensRow& s : r.rows) n += s.unit.points.size() == 1 && s.unit.points[0] == s.unit.name;
  return n;
}

std::set<std::string> quantized_except(const QuantizedPair& pair, const std::set<std::string>& kept) {
  std::set<std::string> q;
  for (const auto& p : all_points(pair.cfg))
    if (!kept.count(p)) q.insert(p);
  return q;
}

}  // namespace

double kept_bpw(const QuantizedPair& pair, const KeepSource& src, const std::set<std::string>& kept) {
  if (src.as == KeepAs::f16 || !src.file) return block_linear_bpw(pair, kept, keep_as_bits(src.as));
  // Q8_0: the twin's bytes (a tensor whose K does not fit Q8_0 blocks stays F16 there).
  double bits = 0, params = 0;
  model::for_each_weight(pair.cfg, [&](const model::WeightSpec& w) {
    if (w.layer < 0 || !w.is_linear()) return;
    const std::string pt = model::observation_point_name(w.layer, model::input_of(w.role));
    const io::TensorInfo& t = (kept.count(pt) ? *src.file : *pair.q).tensor(w.name);
    params += double(t.n_elements());
    bits += 8.0 * double(t.nbytes);
  });
  return params > 0 ? bits / params : 0.0;
}

KeepAs parse_keep_as(std::string_view s) {
  if (s == "f16") return KeepAs::f16;
  if (s == "q8_0") return KeepAs::q8_0;
  fail("--keep-as '{}': expected f16 or q8_0", s);
}

std::string_view keep_as_name(KeepAs k) { return k == KeepAs::f16 ? "f16" : "q8_0"; }

double keep_as_bits(KeepAs k) { return k == KeepAs::f16 ? 16.0 : 8.5; }

void check_budget(double value, bool given, const char* option) {
  if (given && !(std::isfinite(value) && value >= 0))
    fail("{} {}: the budget must be a finite value >= 0", option, value);
}

SensitivityResult rank_layers(const QuantizedPair& pair, const tok::Tokenizer& tok,
                              std::span<const int32_t> tokens, const eval::PerplexityOptions& popts,
                              const eval::KlBase& base, double fp_ppl, ThreadPool& pool,
                              const SensProgressFn& progress) {
  SensitivityResult r = rank_units(pair, sensitivity_units(pair.cfg, UnitBy::layer), tok, tokens,
                                   popts, base, fp_ppl, pool, progress);
  const auto pts = all_points(pair.cfg);
  r.all = evaluate_mixed(pair, std::set<std::string>(pts.begin(), pts.end()), tok, tokens, popts,
                         base, pool);
  r.by = "layer";
  r.scheme = pair.spec.scheme;
  return r;
}

EvalFigures evaluate_kept(const QuantizedPair& pair, const KeepSource& src,
                          const std::set<std::string>& kept, const tok::Tokenizer& tok,
                          std::span<const int32_t> tokens, const eval::PerplexityOptions& popts,
                          const eval::KlBase& base, ThreadPool& pool) {
  const std::set<std::string> q = quantized_except(pair, kept);
  if (src.as == KeepAs::f16 && (!src.file || src.file == pair.fp))
    return evaluate_mixed(pair, q, tok, tokens, popts, base, pool);
  FPTQ_CHECK_MSG(src.file != nullptr, "no Q8_0 twin for --keep-as q8_0");
  QuantizedPair mixed = pair;
  mixed.fp = src.file;  // kept points' tensors (and unfolded norms) from here
  const model::ActQuant others =
      src.as == KeepAs::q8_0 ? model::ActQuant::dynamic : model::ActQuant::fp;
  return evaluate_emulated(mixed_model_file(mixed, q), mixed_spec(mixed, q, others), tok, tokens,
                           popts, base, pool);
}

AutoKeepChoice choose_kept(const QuantizedPair& pair, const SensitivityResult& ranking,
                           const AutoKeepBudget& budget, const KeepSource& src,
                           const tok::Tokenizer& tok, std::span<const int32_t> tokens,
                           const eval::PerplexityOptions& popts, const eval::KlBase& base,
                           ThreadPool& pool) {
  if (budget.kld < 0 && budget.bpw < 0) fail("auto-keep: give a KLD or a bits-per-weight budget");
  const int64_t n = layer_units(ranking);
  if (n == 0) fail("the ranking holds no single-layer units (rank with --by layer)");
  AutoKeepChoice c;
  auto bpw_of = [&](int64_t k) { return kept_bpw(pair, src, top_points(ranking, k)); };
  int64_t k_bpw = n;
  if (budget.bpw >= 0) {
    k_bpw = 0;
    for (int64_t k = 0; k <= n; ++k)
      if (bpw_of(k) <= budget.bpw) k_bpw = k;
      else break;
  }
  int64_t k = k_bpw;
  if (budget.kld >= 0) {
    auto eval_k = [&](int64_t kk) {
      KeepRow row{kk == 0 ? std::string("none") : fmt::format("top-{}", kk), kk, bpw_of(kk),
                  evaluate_kept(pair, src, top_points(ranking, kk), tok, tokens, popts, base, pool)};
      c.tried.push_back(row);
      return row.fig.kld;
    };
    if (eval_k(0) <= budget.kld) {
      k = 0;
    } else {
      // Exponential search for an upper end, then bisection. hi == n keeps
      // every layer (F16: the FP model, which meets any budget >= 0).
      int64_t lo = 0, hi = 1;
      while (hi < n && eval_k(hi) > budget.kld) {
        lo = hi;
        hi = std::min(n, hi * 2);
      }
      while (hi - lo > 1) {
        const int64_t mid = (lo + hi) / 2;
        if (eval_k(mid) <= budget.kld) hi = mid;
        else lo = mid;
      }
      k = std::min(hi, k_bpw);
    }
  }
  c.k = k;
  c.points = top_points(ranking, k);
  c.patterns = keep_fp_patterns(pair.cfg, c.points);
  c.bpw = bpw_of(k);
  return c;
}

std::string keep_table_header(KeepAs as) {
  return fmt::format(
      "| kept as {} | k | bits/weight (block linears) | KLD ± stderr | PPL | ΔPPL | top-1 |\n"
      "|---|---:|---:|---:|---:|---:|---:|\n",
      keep_as_name(as) == "f16" ? "F16" : "Q8_0");
}

std::string keep_table_row(const KeepRow& r, double fp_ppl) {
  return fmt::format("| {} | {} | {:.3f} | {:.5f} ± {:.5f} | {:.4f} | {:+.4f} | {:.2f}% |\n",
                     r.choice, r.k, r.bpw, r.fig.kld, r.fig.kld_stderr, r.fig.ppl,
                     r.fig.ppl - fp_ppl, 100 * r.fig.top1);
}

}  // namespace fptq::report
