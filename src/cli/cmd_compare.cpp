// fptq compare MODEL -f TEXT --schemes ...: quantize the model with each
// scheme (one calibration shared by all), evaluate each against the FP model
// on the same windows, and print one markdown table.
#include <unistd.h>

#include <filesystem>
#include <cmath>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/calib_args.h"
#include "cli/commands.h"
#include "cli/eval_model.h"
#include "cli/model_notes.h"
#include "core/error.h"
#include "core/signal_cleanup.h"
#include "core/thread_pool.h"
#include "core/timer.h"
#include "eval/kl_base.h"
#include "eval/perplexity.h"
#include "io/model_file.h"
#include "model/model.h"
#include "model/quant_spec.h"
#include "quant/calib_stats.h"
#include "quant/quantize_model.h"
#include "quant/scheme.h"
#include "tokenizer/tokenizer.h"

namespace fptq::cli {
namespace {

struct CompareArgs {
  std::string model;
  std::string file;
  std::string schemes =
      "fptq-plus,fptq,fptq-gptq,w4a8-naive,w4a8-dynamic,w8a8-smoothquant,w4a16-rtn,w4a16-gptq";
  std::string stats;
  CalibArgs calib;
  std::string out_dir;
  std::string protocol = "llamacpp";
  int64_t ctx = 0;
  int64_t chunks = 0;
  int64_t group = -1;      // -1: each recipe's default
  std::string scale_rule;  // "": each recipe's default
  float v0 = NAN, v1 = NAN;  // NaN: each recipe's default
  int64_t top_k = eval::kDefaultKlTopK;
  bool emulate = false;
  int threads = 1;
};

// A folder for the quantized files: -o DIR (kept), or a fresh temporary one
// removed when the command ends.
class OutputDir {
 public:
  explicit OutputDir(const std::string& dir) {
    if (!dir.empty()) {
      path_ = dir;
      std::error_code ec;
      std::filesystem::create_directories(path_, ec);
      if (ec) fail("{}: cannot create the output folder: {}", dir, ec.message());
      return;
    }
    path_ = std::filesystem::temp_directory_path() /
            fmt::format("fptq-compare-{}-{}", ::getpid(), uint64_t(now_seconds() * 1e6));
    std::filesystem::create_directories(path_);
    temporary_ = true;
    on_signal_ = SignalCleanup(path_.string(), true);
  }
  ~OutputDir() {
    std::error_code ec;
    if (temporary_) std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  bool temporary() const { return temporary_; }

 private:
  std::filesystem::path path_;
  bool temporary_ = false;
  SignalCleanup on_signal_;
};

struct Row {
  std::string scheme, bpw, size, strategies;
  eval::PerplexityStats ppl;
  bool has_kl = false;
  eval::KlStats kl;
};

std::string mib(uint64_t bytes) { return fmt::format("{:.2f} MiB", double(bytes) / (1 << 20)); }

std::string strategy_cell(const quant::QuantPlan& plan) {
  const auto c = plan.strategy_counts();
  auto get = [&](const char* k) {
    const auto it = c.find(k);
    return it == c.end() ? int64_t(0) : it->second;
  };
  return fmt::format("{} / {} / {} / {}", get("static"), get("lae_static"), get("dynamic"),
                     get("fp"));
}

void run_compare(const CompareArgs& a) {
  // Each entry is a recipe: a scheme with passes switched on/off
  // (quant::recipe_options), e.g. fptq+isolate.
  std::vector<std::pair<std::string, quant::QuantizeOptions>> recipes;
  {
    std::stringstream in(a.schemes);
    for (std::string s; std::getline(in, s, ',');) {
      if (s.empty()) continue;
      quant::QuantizeOptions qo = quant::recipe_options(s);
      if (a.group >= 0) qo.int4.group = a.group;
      if (!a.scale_rule.empty()) qo.int4.rule = quant::parse_scale_rule(a.scale_rule);
      if (!std::isnan(a.v0)) qo.policy.v0 = a.v0;
      if (!std::isnan(a.v1)) qo.policy.v1 = a.v1;
      quant::validate_options(qo);
      recipes.emplace_back(s, qo);
    }
  }
  if (recipes.empty()) fail("compare: --schemes lists no scheme");
  if (a.stats.empty() && !has_calib(a.calib))
    fail("compare: give --stats FILE (from `fptq calibrate`) or calibration options "
         "(--calib FILE... | --calib random)");
  eval::PerplexityOptions popts;
  popts.protocol = eval::parse_protocol(a.protocol);
  popts.ctx = a.ctx;
  popts.max_chunks = a.chunks;
  const OutputDir dir(a.out_dir);
  Timer timer;
  ThreadPool pool(a.threads);
  const auto file = io::open_model(a.model);
  // The FP reference: the F32 path, no activation quantized (even for a
  // plain Q4_0/Q8_0 file, which the integer engine would run W4A8/W8A8).
  const EvalModel fp = load_eval_model(file, pool, EvalEngine::f32);
  note_unused_tensors(*file, fp.model->config());
  if (model::read_quant_spec(*file, fp.model->config().n_layer).present) fail("compare: {} is already quantized (fptq.* keys); give the FP model", a.model);
  const auto tok = tok::Tokenizer::from_metadata(file->metadata, file->path);
  const std::vector<int32_t> tokens = eval::tokenize_for_perplexity(*tok, read_text_file(a.file));

  // One calibration for every scheme; its sequences are kept for GPTQ.
  quant::CalibStatsSet stats;
  quant::CalibData data;
  bool have_data = false;
  bool need_data = false;
  for (const auto& [name, qo] : recipes) need_data |= quant::scheme_traits(qo.scheme).gptq;
  if (!a.stats.empty()) {
    stats = quant::load_calib_stats(a.stats);
    quant::check_stats_match(stats, fp.model->config(), a.stats);
    if (need_data) {
      data = make_calib_data_verbose(*tok, fp.model->config(),
                                     has_calib(a.calib)
                                         ? calib_options(a.calib)
                                         : quant::calib_options_from_provenance(stats.provenance));
      have_data = true;
    }
  } else {
    data = make_calib_data_verbose(*tok, fp.model->config(), calib_options(a.calib));
    have_data = true;
    stats = quant::calibrate(*fp.model, data, pool, calib_progress_printer("calibrate", false));
  }

  const int64_t ctx = a.ctx > 0 ? a.ctx : eval::default_ctx(popts.protocol);
  note_if_beyond_context(fp.model->config(), ctx);
  std::string label;
  double last = -1;
  auto progress = [&](const eval::PerplexityProgress& p) {
    if (p.window != p.n_windows && p.seconds - last < 1.0) return;
    last = p.seconds;
    fmt::print(stderr, "{}: [{}/{}] PPL {:.4f}  {:.1f} s, {:.1f} tokens/s\n", label, p.window,
               p.n_windows, p.so_far.ppl, p.seconds,
               double(p.window) * double(ctx) / std::max(p.seconds, 1e-9));
  };

  std::vector<Row> rows;
  label = "FP";
  const eval::KlBaseRun base = eval::perplexity_record_kl_base(
      *fp.model, *tok, tokens, fp.options(popts), pool, a.top_k, progress);
  rows.push_back({"FP", "F32 (as loaded)", mib(std::filesystem::file_size(a.model)), "—",
                  base.ppl.stats});
  std::vector<std::string> fallback_notes;
  std::vector<std::string> engines;  // per scheme: how it ran
  for (const auto& [name, qo] : recipes) {
    const quant::Scheme s = qo.scheme;
    const std::string out = (dir.path() / (std::filesystem::path(a.model).stem().string() + "." +
                                           name + ".gguf"))
                                .string();
    fmt::print(stderr, "{}: quantizing to {}\n", name, out);
    const quant::QuantizeReport rep = quant::quantize_model(
        file, stats, qo, out, pool, {}, quant::scheme_traits(s).gptq && have_data ? &data : nullptr);
    std::map<std::string, int64_t> notes;  // same fallback on many tensors: one line
    for (const auto* t : rep.fallbacks()) ++notes[t->note];
    for (const auto& [note, n] : notes)
      fallback_notes.push_back(fmt::format("{}: {} tensor(s): {}", name, n, note));
    const EvalModel q = load_eval_model(out, pool, a.emulate ? EvalEngine::emulate : EvalEngine::integer);
    engines.push_back(name + ": " + q.engine);
    label = name;
    const eval::KlCompareRun r = eval::perplexity_vs_kl_base(*q.model, *tok, tokens,
                                                             q.options(popts), base.base, pool,
                                                             progress);
    Row row{name, fmt::format("{:.3f}", rep.bpw_linear()), mib(rep.file_bytes),
            strategy_cell(rep.plan), r.ppl.stats, true, r.kl};
    rows.push_back(row);
  }

  const auto& pr = base.ppl;
  fmt::print("## fptq compare: {}\n\n", a.model);
  fmt::print("text: {}; protocol {}, ctx {}, {} windows, {} predictions scored{}\n", a.file,
             eval::protocol_name(pr.protocol), pr.ctx, pr.n_windows, pr.stats.n,
             pr.bos_first ? " (BOS first)" : "");
  fmt::print("calibration: {} × {} tokens from {} (seed {}), shared by every scheme\n",
             stats.provenance.samples, stats.provenance.seqlen, stats.provenance.source,
             stats.provenance.seed);
  fmt::print("evaluation: FP = {}; quantized models on the {} (per scheme below the table)\n",
             fp.engine,
             a.emulate ? "F32 path with exact int8 activation emulation (--emulate)"
                       : "integer engine");
  fmt::print("KLD: KL(P_FP || P_scheme) over the FP top-{} + tail bucket (a lower bound on the "
             "full KL); int4 group {}, scale rule {}; policy v0 = {}, v1 = {}\n\n",
             a.top_k, a.group >= 0 ? std::to_string(a.group) : "per recipe",
             a.scale_rule.empty() ? "per recipe" : a.scale_rule,
             std::isnan(a.v0) ? std::string("per recipe") : fmt::format("{:g}", a.v0),
             std::isnan(a.v1) ? std::string("per recipe") : fmt::format("{:g}", a.v1));
  fmt::print("| scheme | bits/weight (linear) | file | PPL ± stderr | ΔPPL vs FP | mean KLD | "
             "top-1 agreement | points static / LAE+static / dynamic / fp |\n");
  fmt::print("|---|---:|---:|---:|---:|---:|---:|---|\n");
  const double fp_ppl = rows[0].ppl.ppl;
  for (const Row& r : rows) {
    fmt::print("| {} | {} | {} | {:.4f} ± {:.4f} | {} | {} | {} | {} |\n", r.scheme, r.bpw, r.size,
               r.ppl.ppl, r.ppl.ppl_stderr,
               r.has_kl ? fmt::format("{:+.4f}", r.ppl.ppl - fp_ppl) : "—",
               r.has_kl ? fmt::format("{:.5f} ± {:.5f}", r.kl.mean, r.kl.mean_stderr) : "—",
               r.has_kl ? fmt::format("{:.2f}%", 100 * r.kl.top1) : "—", r.strategies);
  }
  fmt::print("\nengines:\n");
  for (const auto& e : engines) fmt::print("- {}\n", e);
  if (!fallback_notes.empty()) {
    fmt::print("\nfallbacks:\n");
    for (const auto& n : fallback_notes) fmt::print("- {}\n", n);
  }
  fmt::print("\nquantized files: {}; total time {:.0f} s\n",
             dir.temporary() ? "temporary, removed (use -o DIR to keep them)" : dir.path().string(),
             timer.elapsed());
}

}  // namespace

void add_compare_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "compare",
      "Quantize MODEL with each scheme and evaluate it against the FP model on the same text "
      "windows; print one markdown table: scheme, bits per weight of the linear layers, file "
      "size, PPL ± stderr, ΔPPL vs FP, mean KL divergence to the FP model, top-1 agreement, and "
      "how many activation points went static / LAE+static / dynamic / fp. The model is "
      "calibrated once (or --stats is read) and every scheme uses those statistics. Quantized "
      "models run on the integer engine (W4A8/W8A8 kernels), or with --emulate on the F32 "
      "path with exact int8 activation emulation.");
  auto a = std::make_shared<CompareArgs>();
  cmd->add_option("MODEL", a->model, "FP GGUF file or Hugging Face model directory")->required();
  cmd->add_option("-f,--file", a->file, "evaluation text (e.g. wikitext-2-raw test)")->required();
  cmd->add_option("--schemes", a->schemes,
                  "comma-separated recipes: a scheme, optionally with passes switched on/off "
                  "(fptq+isolate, fptq+weighted+g32, fptq-plus-isolate; see quantize --scheme)")
      ->capture_default_str();
  cmd->add_option("--stats", a->stats, "calibration statistics from `fptq calibrate`");
  add_calib_options(*cmd, a->calib);
  cmd->add_option("-o,--output-dir", a->out_dir,
                  "keep the quantized GGUFs in this folder (default: a temporary folder)");
  cmd->add_option("--protocol", a->protocol, "llamacpp or gptq")
      ->check(CLI::IsMember({"llamacpp", "gptq"}))
      ->capture_default_str();
  cmd->add_option("-c,--ctx", a->ctx, "window length (default: 512 llamacpp, 2048 gptq)")
      ->check(non_negative_integer());
  cmd->add_option("--chunks", a->chunks, "evaluate only the first N windows (default: all)");
  cmd->add_option("--group-size", a->group, "int4 group along K for every recipe: 32, 64, 128, 256, 0 (default: each recipe's)")
      ->check(non_negative_integer());
  cmd->add_option("--scale-rule", a->scale_rule, "int4 scale for every recipe: q4_0, absmax7, search, weighted (default: each recipe's)")
      ->check(CLI::IsMember({"q4_0", "absmax7", "search", "weighted"}));
  cmd->add_option("--v0", a->v0, "policy threshold for every recipe: B below it -> static (default: each recipe's)");
  cmd->add_option("--v1", a->v1, "policy threshold for every recipe: B above it -> dynamic (default: each recipe's)");
  cmd->add_option("--kl-top-k", a->top_k, "FP log-probabilities kept per position for the KLD")
      ->check(positive_integer())
      ->capture_default_str();
  cmd->add_flag("--emulate",
                a->emulate,
                "evaluate the quantized models on the F32 path with exact int8 activation "
                "emulation instead of the integer engine");
  add_threads_option(*cmd, &a->threads);
  cmd->callback([a] { run_compare(*a); });
}

}  // namespace fptq::cli
