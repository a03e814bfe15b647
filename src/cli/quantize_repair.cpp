#include "cli/quantize_repair.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "cli/commands.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/timer.h"
#include "eval/kl_base.h"
#include "eval/perplexity.h"
#include "model/model.h"
#include "quant/layer_report.h"
#include "report/act_clip.h"
#include "report/auto_keep.h"
#include "report/probe.h"
#include "tokenizer/tokenizer.h"

namespace fptq::cli {
namespace {

using nlohmann::json;

bool given(double v) { return !std::isnan(v); }

// Files written next to the output and removed however the run ends.
struct TwinFiles {
  std::vector<std::string> paths;
  ~TwinFiles() {
    std::error_code ec;
    for (const auto& p : paths) std::filesystem::remove(p, ec);
  }
};

json figures_json(const report::EvalFigures& f) {
  return json{{"ppl", f.ppl}, {"kld", f.kld}, {"kld_stderr", f.kld_stderr}, {"top1", f.top1}};
}

}  // namespace

void add_repair_options(CLI::App& cmd, RepairArgs& a) {
  cmd.add_option("--auto-keep", a.auto_keep,
                 "KLD budget: keep the most sensitive layer inputs (their weights) in higher "
                 "precision (--keep-as) until the KL divergence on the evaluation text is at "
                 "most this (e.g. 0.25); ranks every layer first (one evaluation each)");
  cmd.add_option("--auto-keep-bpw", a.auto_keep_bpw,
                 "bits-per-weight budget of the block linear weights: keep the most sensitive "
                 "layers while it allows (with --auto-keep: caps its choice)");
  cmd.add_option("--keep-as", a.keep_as,
                 "precision of the kept layers: q8_0 (per-row int8 weights, per-token int8 "
                 "activations: W8A8) or f16 (F16 weights, fp activations)")
      ->check(CLI::IsMember({"f16", "q8_0"}))
      ->capture_default_str();
  cmd.add_option("-f,--eval-text", a.eval_text,
                 "evaluation text for --auto-keep (default: the calibration text)");
  cmd.add_option("--eval-ctx", a.eval_ctx, "--auto-keep evaluation window (tokens)")
      ->check(positive_integer())
      ->capture_default_str();
  cmd.add_option("--eval-chunks", a.eval_chunks, "--auto-keep evaluation windows")
      ->check(positive_integer())
      ->capture_default_str();
  cmd.add_option("--ranking", a.ranking,
                 "--auto-keep: reuse this layer ranking (`fptq sensitivity --by layer --json` on "
                 "the same model and scheme) instead of ranking here");
  cmd.add_option("--act-clip", a.act_clip,
                 "static activation scales from this percentile of |x| after the LAE fold "
                 "(e.g. 99.99), over the calibration sequences, instead of the max; recorded "
                 "as fptq.act.clip");
}

bool repair_requested(const RepairArgs& a) {
  return given(a.auto_keep) || given(a.auto_keep_bpw) || given(a.act_clip);
}

void check_repair_args(const RepairArgs& a, const CalibArgs& calib, const std::string& stats_path,
                       const quant::QuantizeOptions& opts) {
  (void)stats_path;
  report::check_budget(a.auto_keep, given(a.auto_keep), "--auto-keep");
  report::check_budget(a.auto_keep_bpw, given(a.auto_keep_bpw), "--auto-keep-bpw");
  if (given(a.act_clip) && !(a.act_clip > 0 && a.act_clip <= 100))
    fail("--act-clip {}: the percentile must be in (0, 100]", a.act_clip);
  const bool keep = given(a.auto_keep) || given(a.auto_keep_bpw);
  if (!keep && !a.ranking.empty())
    fail("quantize: --ranking is for --auto-keep / --auto-keep-bpw; give one");
  if (!keep && !a.eval_text.empty())
    fail("quantize: -f/--eval-text is the --auto-keep evaluation text; give --auto-keep or "
         "--auto-keep-bpw");
  if (given(a.act_clip)) {
    const quant::ActPolicy p = quant::scheme_traits(opts.scheme).act;
    if (p == quant::ActPolicy::AllDynamic || p == quant::ActPolicy::AllFp)
      fail("--act-clip: scheme '{}' has no static activation points (its activations are {})",
           quant::scheme_name(opts.scheme), p == quant::ActPolicy::AllFp ? "fp" : "per-token dynamic");
  }
  if (repair_requested(a) && calib.resume)
    fail("quantize: --resume cannot be combined with --auto-keep / --act-clip");
  if (!a.eval_text.empty()) (void)read_text_file(a.eval_text);  // fails early when unreadable
  if (!a.ranking.empty()) (void)report::read_sensitivity(a.ranking);
}

quant::QuantizeReport quantize_with_repair(const RepairArgs& a, const CalibArgs& calib,
                                           std::shared_ptr<const io::ModelFile> file,
                                           const quant::CalibStatsSet* stats,
                                           const quant::CalibData* data,
                                           quant::QuantizeOptions opts, const std::string& out,
                                           ThreadPool& pool, const quant::StreamOptions& so,
                                           quant::CalibStatsSet* own_stats, RepairOutcome& outcome) {
  Timer timer;
  const bool keep = given(a.auto_keep) || given(a.auto_keep_bpw);
  const auto tok = tok::Tokenizer::from_metadata(file->metadata, file->path);
  const quant::CalibProvenance& prov = stats ? stats->provenance : data->provenance;

  // The evaluation text, before any work.
  std::vector<int32_t> tokens;
  std::string eval_name = a.eval_text;
  if (keep) {
    std::string text;
    if (!a.eval_text.empty()) {
      text = read_text_file(a.eval_text);
    } else {
      if (prov.source == "random")
        fail("quantize: --auto-keep needs an evaluation text and the calibration is 'random': "
             "give -f/--eval-text TEXT");
      const quant::CalibOptions co = quant::calib_options_from_provenance(prov);
      for (const auto& f : co.text_files) {
        text += read_text_file(f);
        text += "\n\n";
        eval_name += (eval_name.empty() ? "" : ",") + f;
      }
      eval_name += " (the calibration text)";
    }
    tokens = eval::tokenize_for_perplexity(*tok, text);
  }

  // 1. The twin: the plain quantization (statistics kept for the rest).
  TwinFiles twins;
  const std::string twin = out + ".fptq-twin.gguf";
  twins.paths.push_back(twin);
  fmt::print(stderr, "quantize: writing the plain quantization to {} first\n", twin);
  quant::CalibStatsSet st_local;
  (void)quant::quantize_streaming(file, stats, data, opts, twin, pool, so, &st_local);
  const quant::CalibStatsSet& st = stats ? *stats : st_local;
  if (own_stats && !stats) *own_stats = st_local;
  report::QuantizedPair pair = report::open_quantized_pair(file, io::open_model(twin));

  // 2. --act-clip: percentile scales from a probe over the calibration sequences.
  if (given(a.act_clip)) {
    int64_t n_static = 0;
    for (const auto& l : pair.spec.layers)
      for (const auto& q : l) n_static += q.mode == model::ActQuant::static_;
    if (n_static == 0)
      fail("--act-clip: no layer input is quantized statically under these options (all "
           "dynamic or fp); there is no static scale to clip");
    quant::CalibData probe_data;
    const quant::CalibData* pd = data;
    if (!pd) {
      probe_data = quant::make_calib_data(*tok, pair.cfg, quant::calib_options_from_provenance(prov));
      pd = &probe_data;
    }
    fmt::print(stderr, "quantize: --act-clip: probing {} × {} calibration tokens after the fold\n",
               pd->provenance.samples, pd->provenance.seqlen);
    report::ProbeOptions po;
    po.rows_per_point = 1;
    const auto probe = report::probe_points(pair, *pd, *tok, pool, po);
    const model::QuantSpec clipped = report::clipped_spec(pair.spec, probe, a.act_clip / 100.0);
    double sum_ratio = 0, min_ratio = 1;
    json pts = json::array();
    for (size_t l = 0; l < clipped.layers.size(); ++l)
      for (size_t k = 0; k < clipped.layers[l].size(); ++k) {
        const model::PointQuant& was = pair.spec.layers[l][k];
        if (was.mode != model::ActQuant::static_) continue;
        // Never above the max-based scale (the probe's max can exceed the
        // calibrated one only by float rounding).
        const float d = std::min(clipped.layers[l][k].scale, was.scale);
        const std::string name = probe[l * model::kBlockPoints + k].name;
        opts.static_scales[name] = d;
        const double ratio = was.scale > 0 ? double(d) / double(was.scale) : 1.0;
        sum_ratio += ratio;
        min_ratio = std::min(min_ratio, ratio);
        pts.push_back(json{{"point", name}, {"scale_max", was.scale}, {"scale", d}});
        pair.spec.layers[l][k].scale = d;
      }
    opts.act_clip = a.act_clip;
    outcome.text += fmt::format(
        "act-clip: static scales of {} points from p{:g} of |x'| over {} × {} calibration tokens; "
        "Δ / Δ_max: mean {:.3f}, min {:.3f}\n",
        n_static, a.act_clip, pd->provenance.samples, pd->provenance.seqlen,
        sum_ratio / double(n_static), min_ratio);
    outcome.json["act_clip"] = json{{"percentile", a.act_clip},
                                    {"probe_samples", pd->provenance.samples},
                                    {"probe_seqlen", pd->provenance.seqlen},
                                    {"points", pts}};
  }

  // 3. --auto-keep: rank, search, keep.
  std::vector<std::string> kept_patterns;
  report::KeepAs as = report::parse_keep_as(a.keep_as);
  eval::KlBaseRun base;
  eval::PerplexityOptions popts;
  popts.ctx = a.eval_ctx;
  popts.max_chunks = a.eval_chunks;
  if (keep) {
    {
      const model::Model fp(pair.fp, pool, model::LoadOptions{model::RunMode::emulate});
      base = eval::perplexity_record_kl_base(fp, *tok, tokens, popts, pool);
    }
    const double fp_ppl = base.ppl.stats.ppl;
    const int64_t n_units = int64_t(report::all_points(pair.cfg).size());
    fmt::print(stderr, "quantize: --auto-keep: FP PPL {:.4f} on {} windows of {}; {} layer inputs\n",
               fp_ppl, base.ppl.n_windows, base.ppl.ctx, n_units);
    report::SensitivityResult ranking;
    if (!a.ranking.empty()) {
      ranking = report::read_sensitivity(a.ranking);
      const auto pts = report::all_points(pair.cfg);
      for (const auto& row : ranking.rows)
        for (const auto& p : row.unit.points)
          if (std::find(pts.begin(), pts.end(), p) == pts.end())
            fail("--ranking {}: point '{}' is not in this model", a.ranking, p);
      fmt::print(stderr, "quantize: --auto-keep: ranking read from {} ({} units, scheme {})\n",
                 a.ranking, ranking.rows.size(), ranking.scheme);
    } else {
      ranking = report::rank_layers(
          pair, *tok, tokens, popts, base.base, fp_ppl, pool,
          [&](int64_t done, int64_t total, const report::SensRow& row) {
            if (!calib.quiet)
              fmt::print(stderr, "quantize: rank [{}/{}] {}: KLD {:.5f}  {:.0f} s\n", done, total,
                         row.unit.name, row.fig.kld, timer.elapsed());
          });
    }
    report::KeepSource src{as, pair.fp};
    if (as == report::KeepAs::q8_0) {
      // Kept points are taken from a twin with every block linear as Q8_0.
      quant::QuantizeOptions o8 = opts;
      const auto all = report::all_points(pair.cfg);
      o8.keep_q8 = report::keep_fp_patterns(pair.cfg, std::set<std::string>(all.begin(), all.end()));
      o8.static_scales.clear();
      o8.act_clip = 0;
      const std::string twin8 = out + ".fptq-twin-q8.gguf";
      twins.paths.push_back(twin8);
      fmt::print(stderr, "quantize: --keep-as q8_0: writing the all-Q8_0 twin to {}\n", twin8);
      (void)quant::quantize_streaming(file, &st, data, o8, twin8, pool, so, nullptr);
      src.file = io::open_model(twin8);
    }
    const report::AutoKeepChoice c = report::choose_kept(
        pair, ranking,
        report::AutoKeepBudget{given(a.auto_keep) ? a.auto_keep : -1.0,
                               given(a.auto_keep_bpw) ? a.auto_keep_bpw : -1.0},
        src, *tok, tokens, popts, base.base, pool);
    outcome.text += fmt::format("\n### auto-keep: evaluation on {} ({} windows of {}), FP PPL {:.4f}\n\n",
                                eval_name, base.ppl.n_windows, base.ppl.ctx, fp_ppl);
    outcome.text += "most sensitive layer inputs (alone quantized, the rest FP):";
    for (size_t i = 0; i < ranking.rows.size() && i < 8; ++i)
      outcome.text += fmt::format(" {} {:.4f};", ranking.rows[i].unit.name, ranking.rows[i].fig.kld);
    outcome.text += "\n\n";
    json tried = json::array();
    if (!c.tried.empty()) {
      outcome.text += report::keep_table_header(as);
      for (const auto& t : c.tried) {
        outcome.text += report::keep_table_row(t, fp_ppl);
        json j = figures_json(t.fig);
        j["k"] = t.k;
        j["bpw_block_linear"] = t.bpw;
        tried.push_back(j);
      }
      outcome.text += "\n";
    }
    std::string names;
    for (const auto& p : c.points) names += " " + p;
    outcome.text += fmt::format("kept as {}: {} layer input(s){}{}\n", report::keep_as_name(as), c.k,
                                names.empty() ? "" : ":", names);
    kept_patterns = c.patterns;
    if (as == report::KeepAs::q8_0)
      opts.keep_q8 = c.patterns;
    else
      opts.keep_fp.insert(opts.keep_fp.end(), c.patterns.begin(), c.patterns.end());
    for (const auto& p : c.points) opts.static_scales.erase(p);  // no longer static
    outcome.json["auto_keep"] = json{{"kld_budget", given(a.auto_keep) ? json(a.auto_keep) : json()},
                                     {"bpw_budget", given(a.auto_keep_bpw) ? json(a.auto_keep_bpw) : json()},
                                     {"keep_as", report::keep_as_name(as)},
                                     {"eval_text", eval_name},
                                     {"ranking", a.ranking.empty() ? json("measured here") : json(a.ranking)},
                                     {"eval_ctx", base.ppl.ctx},
                                     {"eval_windows", base.ppl.n_windows},
                                     {"fp_ppl", fp_ppl},
                                     {"k", c.k},
                                     {"kept", c.points},
                                     {"patterns", c.patterns},
                                     {"tried", tried}};
  }

  // 4. The output.
  pair = report::QuantizedPair{};  // unmap the twin before it is removed
  const quant::QuantizeReport rep = quant::quantize_streaming(file, &st, data, opts, out, pool, so);
  if (keep) {
    const auto q = io::open_model(out);
    const model::LlamaConfig cfg = model::read_config(*q);
    const report::EvalFigures f = report::evaluate_emulated(
        q, model::read_quant_spec(*q, cfg.n_layer), *tok, tokens, popts, base.base, pool);
    const double fp_ppl = base.ppl.stats.ppl;
    outcome.text += fmt::format(
        "written {}: bits/weight {:.3f} (linear weights), {:.3f} (file); KLD {:.5f} ± {:.5f}, "
        "PPL {:.4f} (Δ {:+.4f}), top-1 {:.2f}% (the file, emulated, on the evaluation text)\n",
        out, rep.bpw_linear(), rep.bpw_file(), f.kld, f.kld_stderr, f.ppl, f.ppl - fp_ppl,
        100 * f.top1);
    json r = figures_json(f);
    r["bpw_linear"] = rep.bpw_linear();
    r["bpw_file"] = rep.bpw_file();
    outcome.json["auto_keep"]["result"] = r;
  }
  return rep;
}

void write_repair_report(const std::string& path, const quant::QuantizeReport& rep,
                         const RepairOutcome& outcome) {
  if (outcome.json.is_null() || path.size() < 5 || path.substr(path.size() - 5) != ".json") {
    if (!outcome.json.is_null())
      fmt::print(stderr, "quantize: the --act-clip / --auto-keep results go into a .json report only\n");
    quant::write_layer_report(path, rep.plan, &rep);
    return;
  }
  json j = json::parse(quant::layer_report_json(rep.plan, &rep));
  for (const auto& [k, v] : outcome.json.items()) j[k] = v;
  write_file_atomic(path, j.dump(1) + "\n");
}

}  // namespace fptq::cli
