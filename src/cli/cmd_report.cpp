// fptq report MODEL_FP [MODEL_Q | --stats FILE] -o report.html [--json FILE]:
// one self-contained HTML page (and optionally JSON) that shows what
// quantization did to every layer: bounds and per-channel maxima before and
// after LAE, the strategy and static scale, activation and weight histograms
// with the int8 range, per-layer weight/output error, and (with
// --sensitivity) each layer's contribution to the KL divergence.
#include <memory>
#include <string>

#include <fmt/format.h>

#include "cli/calib_args.h"
#include "cli/commands.h"
#include "cli/pair_args.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "core/timer.h"
#include "eval/kl_base.h"
#include "eval/perplexity.h"
#include "io/output_path.h"
#include "model/model.h"
#include "quant/calibrate.h"
#include "quant/emulation_observer.h"
#include "report/probe.h"
#include "report/report.h"
#include "report/sensitivity.h"
#include "tokenizer/tokenizer.h"

namespace fptq::cli {
namespace {

struct ReportArgs {
  PairArgs pair;
  std::string out;
  std::string json;
  std::string sensitivity;
  std::string text;
  int64_t chunks = 4;
  int64_t ctx = 0;
  int64_t probe_samples = 4;
  int64_t probe_seqlen = 512;
  int64_t rows = 256;
  int64_t top = 5;
  int threads = 1;
};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void run_report(const ReportArgs& a) {
  if (!ends_with(a.out, ".html") && !ends_with(a.out, ".htm"))
    fail("report: -o '{}' must end in .html", a.out);
  if (!a.json.empty() && !ends_with(a.json, ".json"))
    fail("report: --json '{}' must end in .json", a.json);
  std::vector<std::string> inputs = a.pair.calib.calib;
  for (const std::string* f : {&a.pair.quantized, &a.pair.stats, &a.sensitivity})
    if (!f->empty()) inputs.push_back(*f);
  io::check_output_paths({{a.out, "-o/--output"}, {a.json, "--json"}}, a.pair.model, inputs);
  Timer timer;
  ThreadPool pool(a.threads);
  std::optional<report::SensitivityResult> sens;
  if (!a.sensitivity.empty()) sens = report::read_sensitivity(a.sensitivity);
  const auto loaded = load_pair(a.pair, pool, "report");
  const report::QuantizedPair& pair = loaded->pair;
  const auto tok = tok::Tokenizer::from_metadata(pair.fp->metadata, pair.fp->path);

  // The probe's sequences: --calib, else the quantized model's own
  // calibration source, fewer and shorter.
  quant::CalibOptions co;
  if (has_calib(a.pair.calib)) {
    co = calib_options(a.pair.calib);
  } else {
    quant::CalibProvenance p;
    p.source = pair.spec.calib_source;
    p.seed = pair.spec.calib_seed;
    try {
      co = quant::calib_options_from_provenance(p);
    } catch (const Error& e) {
      fail("report: cannot reproduce the calibration source of {} ({}); give --calib FILE",
           loaded->q_path, e.what());
    }
  }
  co.samples = a.probe_samples;
  co.seqlen = a.probe_seqlen;
  const quant::CalibData data = make_calib_data_verbose(*tok, pair.cfg, co);
  fmt::print(stderr, "report: probing {} sequences × {} tokens\n", data.provenance.samples,
             data.provenance.seqlen);
  report::ProbeOptions po;
  po.rows_per_point = a.rows;
  po.top_rows = a.top;

  report::ReportInput in;
  in.fp_path = a.pair.model;
  in.q_path = a.pair.quantized.empty() ? fmt::format("(quantized here with --scheme {}; not kept)", a.pair.scheme)
                                       : a.pair.quantized;
  in.stats_path = a.pair.stats;
  in.pair = &pair;
  in.stats = loaded->stats;
  in.probe = data.provenance;
  in.points = report::probe_points(pair, data, *tok, pool, po);
  in.sensitivity = sens;
  if (sens && sens->quantized != in.q_path && sens->quantized != loaded->q_path)
    in.notes.push_back(fmt::format("note: the sensitivity ranking was measured on {}, not on this "
                                   "quantized file", sens->quantized));
  fmt::print(stderr, "report: probe done in {:.1f} s\n", timer.elapsed());

  if (!a.text.empty()) {
    eval::PerplexityOptions popts;
    popts.ctx = a.ctx;
    popts.max_chunks = a.chunks;
    const std::vector<int32_t> tokens = eval::tokenize_for_perplexity(*tok, read_text_file(a.text));
    const model::Model fp(pair.fp, pool, model::LoadOptions{model::RunMode::emulate});
    const eval::KlBaseRun base = eval::perplexity_record_kl_base(fp, *tok, tokens, popts, pool);
    std::set<std::string> all;
    for (const auto& p : report::all_points(pair.cfg)) all.insert(p);
    all.insert("output_in");
    report::Baseline b;
    b.text = a.text;
    b.protocol = std::string(eval::protocol_name(base.ppl.protocol));
    b.ctx = base.ppl.ctx;
    b.windows = base.ppl.n_windows;
    b.predictions = base.ppl.stats.n;
    b.fp_ppl = base.ppl.stats.ppl;
    b.fp_ppl_stderr = base.ppl.stats.ppl_stderr;
    // The quantized file as written, emulated (every tensor from it).
    const model::Model q(pair.q, pool, model::LoadOptions{model::RunMode::emulate});
    quant::EmulationObserver obs(q.act_spec());
    eval::PerplexityOptions qo = popts;
    qo.observer = &obs;
    const eval::KlCompareRun r = eval::perplexity_vs_kl_base(q, *tok, tokens, qo, base.base, pool);
    b.q.ppl = r.ppl.stats.ppl;
    b.q.ppl_stderr = r.ppl.stats.ppl_stderr;
    b.q.kld = r.kl.mean;
    b.q.kld_stderr = r.kl.mean_stderr;
    b.q.kld_p99 = r.kl.p99;
    b.q.top1 = r.kl.top1;
    in.baseline = b;
    fmt::print(stderr, "report: baseline FP PPL {:.4f}, quantized PPL {:.4f}, KLD {:.5f}\n", b.fp_ppl,
               b.q.ppl, b.q.kld);
  }

  write_file_atomic(a.out, report::report_html(in));
  fmt::print(stderr, "report written to {}\n", a.out);
  if (!a.json.empty()) {
    write_file_atomic(a.json, report::report_json(in));
    fmt::print(stderr, "report data written to {}\n", a.json);
  }
  fmt::print(stderr, "report: done in {:.1f} s\n", timer.elapsed());
}

}  // namespace

void add_report_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "report",
      "Write a self-contained HTML report (inline SVG, no scripts) of a quantized model against "
      "its FP model: settings and calibration provenance, an overview of the activation bound "
      "per layer against v0/v1 coloured by strategy, and per layer the per-channel max|x| "
      "before/after LAE, the static scale, activation and weight histograms (log counts) with "
      "the int8 range marked, weight NMSE, output NMSE on calibration rows, the tokens that set "
      "the range, and the KL contribution from `fptq sensitivity --json`. Without MODEL_Q the "
      "model is quantized here from --stats (or --calib) into a temporary file.");
  auto a = std::make_shared<ReportArgs>();
  cmd->add_option("MODEL_FP", a->pair.model, "FP GGUF file or Hugging Face directory")->required();
  cmd->add_option("MODEL_Q", a->pair.quantized, "quantized GGUF written by `fptq quantize`");
  cmd->add_option("-o,--output", a->out, "HTML file to write")->required();
  cmd->add_option("--json", a->json, "also write the report's data as JSON");
  add_pair_quantize_options(*cmd, a->pair);
  cmd->add_option("--sensitivity", a->sensitivity,
                  "ranking from `fptq sensitivity --json` (per-layer KL contribution)");
  cmd->add_option("-f,--file", a->text, "evaluation text for the FP / quantized baseline figures");
  cmd->add_option("--chunks", a->chunks, "baseline windows")->capture_default_str()
      ->check(non_negative_integer());
  cmd->add_option("-c,--ctx", a->ctx, "baseline window length (default 512)")
      ->check(non_negative_integer());
  cmd->add_option("--probe-samples", a->probe_samples, "probe sequences")
      ->check(positive_integer())
      ->capture_default_str();
  cmd->add_option("--probe-seqlen", a->probe_seqlen, "probe sequence length")
      ->check(CLI::Range(int64_t(2), int64_t(1) << 20))
      ->capture_default_str();
  cmd->add_option("--rows", a->rows, "probe rows per layer for the output error")
      ->check(positive_integer())
      ->capture_default_str();
  cmd->add_option("--top", a->top, "range-setting rows listed per layer")
      ->check(positive_integer())
      ->capture_default_str();
  add_threads_option(*cmd, &a->threads);
  cmd->callback([a] { run_report(*a); });
}

}  // namespace fptq::cli
