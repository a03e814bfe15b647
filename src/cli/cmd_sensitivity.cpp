// fptq sensitivity MODEL -f TEXT: quantize one layer (or one group) at a
// time, the rest FP, and measure ΔKLD / ΔPPL against the FP model on a short
// text; print the ranking and write it as JSON (for `fptq report
// --sensitivity`). Also: keep the most sensitive layers in higher precision
// until a KLD or bits-per-weight budget is met (--auto-keep,
// --auto-keep-bpw), compared against keeping as many random layers
// (--keep-table), and static scales from a percentile of |x| (--act-clip).
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/calib_args.h"
#include "cli/commands.h"
#include "cli/model_notes.h"
#include "cli/pair_args.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/signal_cleanup.h"
#include "core/thread_pool.h"
#include "core/timer.h"
#include "eval/kl_base.h"
#include "eval/perplexity.h"
#include "io/model_file.h"
#include "io/output_path.h"
#include "model/model.h"
#include "quant/act_quant.h"
#include "quant/calibrate.h"
#include "quant/emulation_observer.h"
#include "quant/quantize_model.h"
#include "quant/weight_int4.h"
#include "report/act_clip.h"
#include "report/auto_keep.h"
#include "report/probe.h"
#include "report/sensitivity.h"
#include "tokenizer/tokenizer.h"

namespace fptq::cli {
namespace {

struct SensArgs {
  PairArgs pair;
  std::string text;
  std::string by = "layer";
  std::string json;
  std::string ranking;  // reuse a ranking instead of measuring one
  bool no_ranking = false;
  int64_t chunks = 2;
  int64_t ctx = 0;
  int64_t show = 0;
  double auto_keep = -1;
  double auto_keep_bpw = -1;
  std::string keep_table;
  std::string keep_as = "f16";
  int64_t random_draws = 3;
  uint64_t seed = 1;
  std::vector<double> act_clip;
  int64_t clip_samples = 16, clip_seqlen = 512;
  std::string output;  // write the auto-kept model here
  int threads = 1;
};

std::vector<int64_t> parse_ks(const std::string& s) {
  std::vector<int64_t> out;
  std::stringstream in(s);
  for (std::string t; std::getline(in, t, ',');) {
    if (t.empty()) continue;
    try {
      size_t used = 0;
      const long long v = std::stoll(t, &used);
      if (used != t.size() || v < 0) throw std::invalid_argument(t);
      out.push_back(v);
    } catch (const std::exception&) {
      fail("--keep-table '{}': expected a comma-separated list of counts >= 0", s);
    }
  }
  return out;
}

std::string fig_row(const std::string& choice, int64_t k, double bpw, const report::EvalFigures& f,
                    double fp_ppl) {
  return fmt::format("| {} | {} | {:.3f} | {:.5f} ± {:.5f} | {:.4f} | {:+.4f} | {:.2f}% |\n", choice,
                     k, bpw, f.kld, f.kld_stderr, f.ppl, f.ppl - fp_ppl, 100 * f.top1);
}

// The options the twin was quantized with (scheme, group, scale rule, v0/v1
// from its fptq.* keys).
quant::QuantizeOptions twin_options(const report::QuantizedPair& pair) {
  quant::QuantizeOptions qo;
  qo.scheme = quant::parse_scheme(pair.spec.scheme);
  qo.policy.v0 = float(pair.spec.v0);
  qo.policy.v1 = float(pair.spec.v1);
  qo.int4.group = pair.spec.group_size;
  qo.int4.rule = quant::parse_scale_rule(pair.spec.scale_rule);
  for (const auto& layer : pair.spec.layers)
    for (const auto& q : layer) {
      qo.isolate_outliers = qo.isolate_outliers || q.isolate;
      if (q.group > 0) qo.act_group = 32;  // each point widens it to its int4 group
    }
  // The int4 levels from the twin's tensor types: all IQ4_NL (+nl), both
  // (+grid), or Q4_0 only (the uniform grid).
  bool nl = false, q4 = false;
  for (const io::TensorInfo& t : pair.q->tensors) {
    if (t.name.rfind("blk.", 0) != 0) continue;
    nl = nl || t.type == io::GgmlType::IQ4_NL;
    q4 = q4 || t.type == io::GgmlType::Q4_0;
  }
  qo.int4.grid = nl && q4 ? quant::Int4Grid::Auto : nl ? quant::Int4Grid::Nl : quant::Int4Grid::Uniform;
  return qo;
}

// Quantizes MODEL again with `qo` into `out` (statistics from --stats, or
// recomputed once from the twin's calibration provenance and cached).
quant::QuantizeReport requantize(const SensArgs& a, const LoadedPair& lp,
                                 const quant::QuantizeOptions& qo, const std::string& out,
                                 const tok::Tokenizer& tok, ThreadPool& pool,
                                 std::optional<quant::CalibStatsSet>& cache) {
  const report::QuantizedPair& pair = lp.pair;
  quant::validate_options(qo);
  quant::CalibData data;
  const bool gptq = quant::scheme_traits(qo.scheme).gptq;
  if ((!lp.stats && !cache) || gptq) {
    quant::CalibProvenance p;
    p.source = pair.spec.calib_source;
    p.samples = pair.spec.calib_samples;
    p.seqlen = pair.spec.calib_seqlen;
    p.seed = pair.spec.calib_seed;
    data = make_calib_data_verbose(tok, pair.cfg,
                                   has_calib(a.pair.calib) ? calib_options(a.pair.calib)
                                                           : quant::calib_options_from_provenance(p));
  }
  if (!lp.stats && !cache) {
    fmt::print(stderr, "sensitivity: recalibrating ({} × {} tokens of {}) to quantize again\n",
               data.provenance.samples, data.provenance.seqlen, data.provenance.source);
    const model::Model m(pair.fp, pool, model::LoadOptions{model::RunMode::emulate});
    cache = quant::calibrate(m, data, pool);
  }
  return quant::quantize_model(pair.fp, lp.stats ? *lp.stats : *cache, qo, out, pool, {},
                               gptq ? &data : nullptr);
}

// Quantizes MODEL again as the twin was with the consumers of `kept` kept
// (F16 or Q8_0), into a.output; prints bits per weight and the written
// file's quality.
void write_kept_model(const SensArgs& a, const LoadedPair& lp, const std::set<std::string>& kept,
                      report::KeepAs as, const tok::Tokenizer& tok, std::span<const int32_t> tokens,
                      const eval::PerplexityOptions& popts, const eval::KlBase& base,
                      double fp_ppl, ThreadPool& pool, std::optional<quant::CalibStatsSet>& cache) {
  quant::QuantizeOptions qo = twin_options(lp.pair);
  (as == report::KeepAs::q8_0 ? qo.keep_q8 : qo.keep_fp) = report::keep_fp_patterns(lp.pair.cfg, kept);
  const quant::QuantizeReport rep = requantize(a, lp, qo, a.output, tok, pool, cache);
  const model::Model q(io::open_model(a.output), pool,
                       model::LoadOptions{model::RunMode::emulate});
  quant::EmulationObserver obs(q.act_spec());
  eval::PerplexityOptions o = popts;
  o.observer = &obs;
  const eval::KlCompareRun r = eval::perplexity_vs_kl_base(q, tok, tokens, o, base, pool);
  fmt::print("written {}: {} layer input(s) kept as {}; bits/weight {:.3f} (linear), {:.3f} "
             "(file); PPL {:.4f} (Δ {:+.4f}), KLD {:.5f} ± {:.5f}, top-1 {:.2f}% (the file, "
             "emulated)\n\n",
             a.output, kept.size(), report::keep_as_name(as), rep.bpw_linear(), rep.bpw_file(),
             r.ppl.stats.ppl, r.ppl.stats.ppl - fp_ppl, r.kl.mean, r.kl.mean_stderr,
             100 * r.kl.top1);
}

// A temporary file removed on destruction.
struct TempFile {
  std::string path;
  SignalCleanup on_signal;
  ~TempFile() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove(path, ec);
  }
};

void run_sensitivity(const SensArgs& a) {
  if (!a.output.empty() && a.auto_keep < 0 && a.auto_keep_bpw < 0)
    fail("sensitivity: -o/--output writes the model that --auto-keep or --auto-keep-bpw chose; give one");
  const bool keep_work = a.auto_keep >= 0 || a.auto_keep_bpw >= 0 || !a.keep_table.empty();
  if (a.no_ranking && (keep_work || !a.json.empty() || !a.ranking.empty()))
    fail("sensitivity: --no-ranking excludes --json, --ranking, --auto-keep and --keep-table");
  std::vector<std::string> inputs = a.pair.calib.calib;
  for (const std::string* f : {&a.text, &a.ranking, &a.pair.quantized, &a.pair.stats})
    if (!f->empty()) inputs.push_back(*f);
  io::check_output_paths({{a.output, "-o/--output"}, {a.json, "--json"}}, a.pair.model, inputs);
  Timer timer;
  ThreadPool pool(a.threads);
  const report::UnitBy by = report::parse_unit_by(a.by);
  const auto loaded = load_pair(a.pair, pool, "sensitivity");
  const report::QuantizedPair& pair = loaded->pair;
  const auto tok = tok::Tokenizer::from_metadata(pair.fp->metadata, pair.fp->path);
  eval::PerplexityOptions popts;
  popts.ctx = a.ctx;
  popts.max_chunks = a.chunks;
  note_if_beyond_context(pair.cfg, a.ctx > 0 ? a.ctx : eval::default_ctx(popts.protocol));
  const std::vector<int32_t> tokens = eval::tokenize_for_perplexity(*tok, read_text_file(a.text));
  eval::KlBaseRun base;
  {
    const model::Model fp(pair.fp, pool, model::LoadOptions{model::RunMode::emulate});
    base = eval::perplexity_record_kl_base(fp, *tok, tokens, popts, pool);
  }
  const double fp_ppl = base.ppl.stats.ppl;
  std::set<std::string> all_pts;
  for (const auto& p : report::all_points(pair.cfg)) all_pts.insert(p);

  report::SensitivityResult r;
  if (a.no_ranking) {
    fmt::print("## fptq sensitivity: {} ({}), no ranking\n\ntext: {}; {} windows of {}, FP PPL {:.4f}\n\n",
               a.pair.model, pair.spec.scheme, a.text, base.ppl.n_windows, base.ppl.ctx, fp_ppl);
  } else if (!a.ranking.empty()) {
    r = report::read_sensitivity(a.ranking);
    fmt::print(stderr, "sensitivity: ranking read from {}\n", a.ranking);
  } else {
    const auto units = report::sensitivity_units(pair.cfg, by);
    fmt::print(stderr, "sensitivity: FP PPL {:.4f} on {} windows; {} units to evaluate\n", fp_ppl,
               base.ppl.n_windows, units.size());
    r = report::rank_units(pair, units, *tok, tokens, popts, base.base, fp_ppl, pool,
                           [&](int64_t done, int64_t total, const report::SensRow& row) {
                             fmt::print(stderr, "sensitivity: [{}/{}] {}: KLD {:.5f}, ΔPPL {:+.4f}  {:.0f} s\n",
                                        done, total, row.unit.name, row.fig.kld, row.dppl,
                                        timer.elapsed());
                           });
    r.all = report::evaluate_mixed(pair, all_pts, *tok, tokens, popts, base.base, pool);
    r.model = a.pair.model;
    r.quantized = a.pair.quantized.empty() ? fmt::format("(quantized here with --scheme {}; not kept)", a.pair.scheme)
                                           : a.pair.quantized;
    r.text = a.text;
    r.scheme = pair.spec.scheme;
    r.by = a.by;
    r.ctx = base.ppl.ctx;
    r.windows = base.ppl.n_windows;
    r.predictions = base.ppl.stats.n;
    r.fp_ppl = fp_ppl;
  }
  if (!a.no_ranking) {
    fmt::print("## fptq sensitivity: {} ({})\n\n", a.pair.model, r.scheme);
    fmt::print("text: {}; {} windows of {}, {} predictions; one unit quantized at a time ({}), the "
               "rest FP; F32 path with exact int8 activation emulation; KLD over the FP top-{} + tail\n\n",
               r.text, r.windows, r.ctx, r.predictions, r.by, eval::kDefaultKlTopK);
    fmt::print("{}\n", report::format_ranking(r, a.show));
    if (!a.json.empty() && a.ranking.empty()) {
      write_file_atomic(a.json, report::sensitivity_json(r));
      fmt::print(stderr, "sensitivity: ranking written to {}\n", a.json);
    }
  }

  if (keep_work && report::top_points(r, 1).empty())
    fail("sensitivity: --auto-keep / --keep-table need a per-layer ranking (--by layer)");
  // The search is report/auto_keep.h's, shared with `fptq quantize --auto-keep`.
  const report::KeepAs keep_as = report::parse_keep_as(a.keep_as);
  report::KeepSource keep_src{keep_as, pair.fp};
  std::optional<quant::CalibStatsSet> stats_cache;
  TempFile q8_twin;
  if (keep_work && keep_as == report::KeepAs::q8_0) {
    // Kept points come from the model quantized as the twin with every block
    // linear as Q8_0.
    q8_twin.path = (std::filesystem::temp_directory_path() /
                    fmt::format("fptq-sensitivity-q8-{}.gguf", ::getpid()))
                       .string();
    q8_twin.on_signal = SignalCleanup(q8_twin.path, false);
    quant::QuantizeOptions qo = twin_options(pair);
    const auto all = report::all_points(pair.cfg);
    qo.keep_q8 = report::keep_fp_patterns(pair.cfg, std::set<std::string>(all.begin(), all.end()));
    fmt::print(stderr, "sensitivity: --keep-as q8_0: writing the all-Q8_0 twin to {}\n", q8_twin.path);
    requantize(a, *loaded, qo, q8_twin.path, *tok, pool, stats_cache);
    keep_src.file = io::open_model(q8_twin.path);
  }
  const std::string kept_header = report::keep_table_header(keep_as);
  auto keep_eval = [&](const std::set<std::string>& kept) {
    return report::evaluate_kept(pair, keep_src, kept, *tok, tokens, popts, base.base, pool);
  };
  auto keep_bpw = [&](const std::set<std::string>& kept) {
    return report::kept_bpw(pair, keep_src, kept);
  };
  auto print_keep = [&](const std::set<std::string>& kept, const char* what) {
    const auto pats = report::keep_fp_patterns(pair.cfg, kept);
    std::string args;
    for (const auto& p : pats) args += " --keep-fp '" + p + "'";
    if (a.keep_as != "f16") args = " (Q8_0 kept layers: use fptq quantize --auto-keep --ranking)";
    fmt::print("{}: keep {} layer input(s) as {}:", what, kept.size(), a.keep_as);
    for (const auto& p : kept) fmt::print(" {}", p);
    fmt::print("\nfptq quantize arguments:{}\n\n", args.empty() ? " (none)" : args);
  };
  if (a.auto_keep >= 0) {
    const report::AutoKeepChoice c = report::choose_kept(
        pair, r, report::AutoKeepBudget{a.auto_keep, -1}, keep_src, *tok, tokens, popts, base.base, pool);
    fmt::print("### --auto-keep {:g}: KLD budget\n\n{}", a.auto_keep, kept_header);
    for (const auto& t : c.tried) fmt::print("{}", report::keep_table_row(t, fp_ppl));
    fmt::print("\nsmallest k meeting the budget: {}\n", c.k);
    print_keep(c.points, "auto-keep");
    if (!a.output.empty())
      write_kept_model(a, *loaded, c.points, keep_as, *tok, tokens, popts, base.base, fp_ppl, pool,
                       stats_cache);
  }
  if (a.auto_keep_bpw >= 0) {
    const report::AutoKeepChoice c = report::choose_kept(
        pair, r, report::AutoKeepBudget{-1, a.auto_keep_bpw}, keep_src, *tok, tokens, popts,
        base.base, pool);
    fmt::print("### --auto-keep-bpw {:g}\n\n{}", a.auto_keep_bpw, kept_header);
    fmt::print("{}", fig_row(fmt::format("top-{}", c.k), c.k, c.bpw, keep_eval(c.points), fp_ppl));
    fmt::print("\n");
    print_keep(c.points, "auto-keep-bpw");
    if (!a.output.empty() && a.auto_keep < 0)
      write_kept_model(a, *loaded, c.points, keep_as, *tok, tokens, popts, base.base, fp_ppl, pool,
                       stats_cache);
  }
  if (!a.keep_table.empty()) {
    const std::vector<int64_t> ks = parse_ks(a.keep_table);
    const std::vector<std::string> pts = report::all_points(pair.cfg);
    fmt::print("### Keeping the k most sensitive layers vs k random layers\n\n{}", kept_header);
    for (int64_t k : ks) {
      const auto top = report::top_points(r, k);
      fmt::print("{}", fig_row("most sensitive", k, keep_bpw(top),
                               keep_eval(top), fp_ppl));
      if (k == 0) continue;
      double kld = 0, ppl = 0;
      for (int64_t d = 0; d < a.random_draws; ++d) {
        const auto rnd = report::random_points(pts, k, a.seed + uint64_t(d));
        const report::EvalFigures f = keep_eval(rnd);
        kld += f.kld;
        ppl += f.ppl;
        fmt::print("{}", fig_row(fmt::format("random (seed {})", a.seed + uint64_t(d)), k,
                                 keep_bpw(rnd), f, fp_ppl));
      }
      if (a.random_draws > 1)
        fmt::print("| random, mean of {} | {} | | {:.5f} | {:.4f} | {:+.4f} | |\n", a.random_draws, k,
                   kld / double(a.random_draws), ppl / double(a.random_draws),
                   ppl / double(a.random_draws) - fp_ppl);
    }
    fmt::print("\n");
  }
  if (!a.act_clip.empty()) {
    // Static scales from a percentile of |x'| over probe sequences of the
    // calibration source, against the max over the same sequences.
    quant::CalibProvenance p;
    p.source = pair.spec.calib_source;
    p.seed = pair.spec.calib_seed;
    quant::CalibOptions co = has_calib(a.pair.calib) ? calib_options(a.pair.calib)
                                                     : quant::calib_options_from_provenance(p);
    co.samples = a.clip_samples;
    co.seqlen = a.clip_seqlen;
    const quant::CalibData data = make_calib_data_verbose(*tok, pair.cfg, co);
    report::ProbeOptions po;
    po.rows_per_point = 1;
    const auto probe = report::probe_points(pair, data, *tok, pool, po);
    fmt::print("### --act-clip: static scales from a percentile of |x| (after LAE) on {} × {} "
               "tokens of {}\n\n",
               data.provenance.samples, data.provenance.seqlen, data.provenance.source);
    fmt::print("| static scales from | static points | KLD ± stderr | PPL | ΔPPL | top-1 |\n|---|---:|---:|---:|---:|---:|\n");
    auto row = [&](const std::string& what, const model::QuantSpec& spec) {
      int64_t n = 0;
      for (const auto& l : spec.layers)
        for (const auto& q : l) n += q.mode == model::ActQuant::static_;
      const report::EvalFigures f =
          report::evaluate_with_spec(pair, spec, *tok, tokens, popts, base.base, pool);
      fmt::print("| {} | {} | {:.5f} ± {:.5f} | {:.4f} | {:+.4f} | {:.2f}% |\n", what, n, f.kld,
                 f.kld_stderr, f.ppl, f.ppl - fp_ppl, 100 * f.top1);
    };
    row("the file (max over the full calibration)", pair.spec);
    row("max over the probe sequences", report::clipped_spec(pair.spec, probe, 1.0));
    for (double pc : a.act_clip)
      row(fmt::format("p{:g} over the probe sequences", pc),
          report::clipped_spec(pair.spec, probe, pc / 100.0));
    fmt::print("\n");
  }
  fmt::print(stderr, "sensitivity: done in {:.0f} s\n", timer.elapsed());
}

}  // namespace

void add_sensitivity_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "sensitivity",
      "Quantize one layer input (with its consumer weights) at a time, or one group (--by group: "
      "all attention, all FFN, each block), the rest FP, and measure the KL divergence and ΔPPL "
      "against the FP model on a short text (F32 path with exact int8 activation emulation, "
      "models built in memory); print the ranking. --auto-keep / --auto-keep-bpw keep the most "
      "sensitive layers in F16 until a KLD / bits-per-weight budget is met and print the "
      "matching `fptq quantize --keep-fp` arguments; --keep-table compares keeping the k most "
      "sensitive against k random layers; --act-clip measures static scales from a percentile "
      "of |x| instead of the max.");
  auto a = std::make_shared<SensArgs>();
  cmd->add_option("MODEL", a->pair.model, "FP GGUF file or Hugging Face directory")->required();
  cmd->add_option("-f,--file", a->text, "evaluation text (a short one: every unit is one run)")
      ->required();
  cmd->add_option("--quantized", a->pair.quantized,
                  "quantized GGUF of MODEL (default: quantize here with --scheme)");
  add_pair_quantize_options(*cmd, a->pair);
  cmd->add_option("--by", a->by, "layer or group")
      ->check(CLI::IsMember({"layer", "group"}))
      ->capture_default_str();
  cmd->add_option("--chunks", a->chunks, "evaluation windows")->capture_default_str()
      ->check(positive_integer());
  cmd->add_option("-c,--ctx", a->ctx, "window length (default 512)")
      ->check(non_negative_integer());
  cmd->add_option("--json", a->json, "write the ranking as JSON");
  cmd->add_option("--ranking", a->ranking, "reuse a ranking JSON instead of measuring one");
  cmd->add_flag("--no-ranking", a->no_ranking, "skip the ranking (e.g. for --act-clip alone)");
  cmd->add_option("--show", a->show, "rows of the ranking to print (0 = all)")->capture_default_str()
      ->check(non_negative_integer());
  cmd->add_option("--auto-keep", a->auto_keep,
                  "KLD budget: keep the fewest most-sensitive layers in F16 that meet it")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--auto-keep-bpw", a->auto_keep_bpw,
                  "bits-per-weight budget (block linear weights): keep as many most-sensitive "
                  "layers in F16 as it allows")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("-o,--output", a->output,
                  "with --auto-keep / --auto-keep-bpw: quantize MODEL again as the quantized "
                  "model was (scheme, group, thresholds from its fptq.* keys), the chosen layers "
                  "in F16, write it here, and report its bits per weight and quality");
  cmd->add_option("--keep-table", a->keep_table,
                  "comma-separated k: keep the k most sensitive vs k random layers")
      ->capture_default_str();
  cmd->add_option("--keep-as", a->keep_as,
                  "kept layers as f16 (weights F16, activations fp) or q8_0 (per-row int8 "
                  "weights, per-token int8 activations)")
      ->check(CLI::IsMember({"f16", "q8_0"}))
      ->capture_default_str();
  cmd->add_option("--random-draws", a->random_draws, "random choices per k")->capture_default_str()
      ->check(positive_integer());
  cmd->add_option("--keep-seed", a->seed, "seed of the first random choice")->capture_default_str();
  cmd->add_option("--act-clip", a->act_clip,
                  "percentiles (e.g. 99.99) of |x| for static scales instead of the max "
                  "(repeatable)");
  cmd->add_option("--clip-samples", a->clip_samples, "sequences for the --act-clip percentiles")
      ->capture_default_str()
      ->check(positive_integer());
  cmd->add_option("--clip-seqlen", a->clip_seqlen, "tokens per --act-clip sequence")
      ->capture_default_str()
      ->check(CLI::Range(int64_t(2), int64_t(1) << 30));
  add_threads_option(*cmd, &a->threads);
  cmd->callback([a] { run_sensitivity(*a); });
}

}  // namespace fptq::cli
