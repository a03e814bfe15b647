// fptq quantize MODEL (--stats FILE | --calib ...) -o OUT.gguf: FPTQ (or a
// baseline scheme) into a GGUF that llama.cpp loads and fptq's engine runs
// with the fptq.* activation keys. --act-clip and --auto-keep first write a
// twin (the plain quantization) next to the output, probe / rank it, and
// then write the output with the clipped scales / kept layers
// (cli/quantize_repair.h).
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/calib_args.h"
#include "cli/commands.h"
#include "cli/model_notes.h"
#include "cli/quantize_repair.h"
#include "cli/stream_progress.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "core/timer.h"
#include "io/model_file.h"
#include "io/output_path.h"
#include "model/model.h"
#include "quant/calib_stats.h"
#include "quant/layer_report.h"
#include "quant/quantize_model.h"
#include "quant/stream_quantize.h"
#include "tokenizer/tokenizer.h"

namespace fptq::cli {
namespace {

// The default calibration budget of `fptq quantize` (data-free when no
// source is given): a few minutes for SmolLM2-135M on 2 cores.
constexpr int64_t kQuantizeCalibSamples = 32;
constexpr int64_t kQuantizeCalibSeqlen = 512;

struct QuantizeArgs {
  std::string model;
  std::string stats;
  CalibArgs calib;
  std::string out;
  std::string save_stats;
  std::string report;
  std::string scheme = "fptq-plus";
  float v0 = NAN, v1 = NAN;    // NaN: the scheme's default
  int64_t group = -1;          // -1: the scheme's default
  std::string scale_rule;      // "": the scheme's default
  std::string isolate = "auto";  // on | off | auto (the scheme's default)
  bool gptq = false;
  double gptq_damp = 0.01;
  int64_t gptq_block = 128;
  bool act_order = false;
  float alpha = 0.5f;
  std::vector<std::string> keep_fp;
  std::vector<std::string> act_mode;
  std::string embd_type, output_type;
  RepairArgs repair;
  int threads = 1;
};

io::GgmlType parse_side_type(const std::string& s, const char* opt) {
  if (s == "f32") return io::GgmlType::F32;
  if (s == "f16") return io::GgmlType::F16;
  if (s == "q8_0") return io::GgmlType::Q8_0;
  if (s == "q4_0") return io::GgmlType::Q4_0;
  fail("{} '{}': expected f32, f16, q8_0 or q4_0", opt, s);
}

quant::QuantizeOptions make_options(const QuantizeArgs& a) {
  quant::QuantizeOptions o = quant::recipe_options(a.scheme);
  if (a.gptq) {
    // The GPTQ twin of the scheme, with its grid unless the recipe names one.
    o.scheme = quant::with_gptq(o.scheme);
    if (a.scheme.find("+nl") == std::string::npos && a.scheme.find("+grid") == std::string::npos)
      o.int4.grid = quant::scheme_options(o.scheme).int4.grid;
  }
  if (!std::isnan(a.v0)) o.policy.v0 = a.v0;
  if (!std::isnan(a.v1)) o.policy.v1 = a.v1;
  for (const std::string& s : a.act_mode) o.policy.overrides.push_back(quant::parse_policy_override(s));
  if (a.group >= 0) o.int4.group = a.group;
  if (!a.scale_rule.empty()) o.int4.rule = quant::parse_scale_rule(a.scale_rule);
  if (a.isolate != "auto") o.isolate_outliers = a.isolate == "on";
  o.gptq.damp = a.gptq_damp;
  o.gptq.block = a.gptq_block;
  o.gptq.act_order = a.act_order;
  o.smooth_alpha = a.alpha;
  o.keep_fp = a.keep_fp;
  if (!a.embd_type.empty()) o.embd_type = parse_side_type(a.embd_type, "--embd-type");
  if (!a.output_type.empty()) o.output_type = parse_side_type(a.output_type, "--output-type");
  quant::validate_options(o);
  return o;
}

void run_quantize(const QuantizeArgs& args) {
  const quant::QuantizeOptions opts = make_options(args);  // bad options fail first
  QuantizeArgs a = args;
  if (a.stats.empty() && !has_calib(a.calib)) {
    // No statistics and no calibration source: data-free calibration with
    // quantize's default budget.
    a.calib.calib = {"random"};
    fmt::print(stderr, "quantize: no --stats or --calib: data-free calibration (--calib random "
                       "--samples {} --seqlen {})\n",
               a.calib.samples, a.calib.seqlen);
  }
  check_repair_args(a.repair, a.calib, a.stats, opts);
  const bool gptq = quant::scheme_traits(opts.scheme).gptq;
  if (!a.report.empty()) quant::check_report_path(a.report);
  std::vector<std::string> inputs = a.calib.calib;
  inputs.push_back(a.stats);
  io::check_output_paths(
      {{a.out, "-o/--output"}, {a.save_stats, "--save-stats"}, {a.report, "--report"}}, a.model,
      inputs);
  Timer timer;
  ThreadPool pool(a.threads);
  const auto file = io::open_model(a.model);
  const model::LlamaConfig cfg = model::read_config(*file);
  note_unused_tensors(*file, cfg);

  quant::CalibStatsSet stats;
  quant::CalibData data;  // sequences, kept for GPTQ
  bool have_data = false;
  auto load_data = [&](const quant::CalibOptions& co) {
    const auto tok = tok::Tokenizer::from_metadata(file->metadata, file->path);
    data = make_calib_data_verbose(*tok, cfg, co);
    have_data = true;
  };
  if (!a.stats.empty()) {
    stats = quant::load_calib_stats(a.stats);
    quant::check_stats_match(stats, cfg, a.stats);
    fmt::print(stderr, "statistics: {} ({} × {} tokens from {})\n", a.stats,
               stats.provenance.samples, stats.provenance.seqlen, stats.provenance.source);
    if (gptq) {
      if (has_calib(a.calib)) {
        load_data(calib_options(a.calib));
      } else {
        // Reproduce the stats file's calibration run for the Hessians.
        load_data(quant::calib_options_from_provenance(stats.provenance));
        if (data.provenance.text_digest != stats.provenance.text_digest)
          fail("{}: the calibration text changed since the statistics were taken (sha256 {} != "
               "{}); pass --calib for GPTQ",
               a.stats, data.provenance.text_digest, stats.provenance.text_digest);
      }
    }
  } else {
    load_data(calib_options(a.calib));
  }

  // Block by block over the mapped input: one block's weights resident.
  quant::StreamOptions so;
  so.resume = a.calib.resume;
  so.release_input_pages = file->format == "gguf";
  so.stop_after_commits = stream_stop_after_from_env();
  so.progress = stream_progress_printer("quantize", a.calib.progress, a.calib.quiet);
  so.note = [](const std::string& s) { fmt::print(stderr, "quantize: {}\n", s); };
  const StopOnSignal stop_on_signal;
  quant::CalibStatsSet own_stats;
  RepairOutcome repair;
  const quant::QuantizeReport rep =
      repair_requested(a.repair)
          ? quantize_with_repair(a.repair, a.calib, file, a.stats.empty() ? nullptr : &stats,
                                 have_data ? &data : nullptr, opts, a.out, pool, so, &own_stats,
                                 repair)
          : quant::quantize_streaming(file, a.stats.empty() ? nullptr : &stats,
                                      have_data ? &data : nullptr, opts, a.out, pool, so,
                                      &own_stats);
  if (a.stats.empty() && !a.save_stats.empty()) {
    write_file_atomic(a.save_stats, quant::serialize_calib_stats(own_stats));
    fmt::print(stderr, "statistics written to {}\n", a.save_stats);
  }
  fmt::print("{}", quant::format_layer_table(rep.plan));
  fmt::print("{}", quant::format_quantize_summary(rep));
  if (repair_requested(a.repair)) fmt::print("{}", repair.text);
  if (!a.report.empty()) {
    write_repair_report(a.report, rep, repair);
    fmt::print(stderr, "layer report written to {}\n", a.report);
  }
  fmt::print(stderr, "quantize: done in {:.1f} s\n", timer.elapsed());
}

}  // namespace

void add_quantize_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "quantize",
      "Quantize a model to W4A8 with FPTQ (or a baseline scheme) and write a GGUF: int4 "
      "group-wise weights as IQ4_NL blocks (the default recipe) or Q4_0 blocks (llama.cpp loads "
      "either as it is), norms F32 with "
      "the LAE factors folded in, and the per-layer activation quantizers (static scale / "
      "per-token dynamic / fp), thresholds and calibration provenance in fptq.* keys. Written "
      "atomically; the same inputs give a byte-identical file whatever --threads.\n"
      "Schemes: fptq (layer policy: B < v0 static, v0..v1 LAE + static where a norm can take "
      "the factor, otherwise dynamic, > v1 dynamic), fptq-gptq, w4a8-naive (static "
      "everywhere), w4a8-dynamic (per-token everywhere), w8a8-smoothquant (α, per-channel "
      "int8 weights as Q8_0, per-token activations), w4a16-rtn, w4a16-gptq (activations fp).\n"
      "Tensors whose K does not allow the group fall back explicitly (smaller group, or F16 "
      "when no multiple of 32 divides K) and are listed in the summary and the report.");
  auto a = std::make_shared<QuantizeArgs>();
  // quantize's own calibration budget (calibrate keeps the paper's 128 x 2048).
  a->calib.samples = kQuantizeCalibSamples;
  a->calib.seqlen = kQuantizeCalibSeqlen;
  cmd->add_option("MODEL", a->model, "GGUF file or Hugging Face model directory")->required();
  cmd->add_option("-o,--output", a->out, "quantized GGUF to write")->required();
  cmd->add_option("--stats", a->stats, "calibration statistics from `fptq calibrate`");
  add_calib_options(*cmd, a->calib);
  cmd->add_option("--save-stats", a->save_stats,
                  "when calibrating here, also save the statistics to this file");
  cmd->add_option("--scheme", a->scheme,
                  "fptq-plus (the default recipe: fptq + AWQ scales + g32 importance-weighted "
                  "int4 scales on IQ4_NL's non-uniform levels + dynamic int8 activations with "
                  "one scale per 32 values of a token + outlier-token isolation for static "
                  "points), fptq-plus-gptq (GPTQ on the uniform levels; +nl: on IQ4_NL's), "
                  "fptq (the paper's method exactly), "
                  "fptq-gptq, w4a8-naive, w4a8-dynamic, w8a8-smoothquant, w4a16-rtn, w4a16-gptq; "
                  "passes switched on/off after the name: +awq, +weighted, +search, +q4_0, "
                  "+g32 ... +g256, +dynamic, +isolate, +laedyn, +nl (IQ4_NL levels), +grid "
                  "(Q4_0 or IQ4_NL per tensor, the lower weighted error), +actgroup (dynamic "
                  "activations with one scale per int4 group of a token instead of one per "
                  "token), or -PASS (e.g. fptq+isolate, fptq-plus-awq, fptq-plus-actgroup)")
      ->capture_default_str();
  cmd->add_option("--isolate-outliers", a->isolate,
                  "outlier-token isolation: static ranges from ordinary tokens, tokens the "
                  "static scale would saturate quantized per token at run time: on, off, auto "
                  "(on for fptq-plus)")
      ->check(CLI::IsMember({"on", "off", "auto"}))
      ->capture_default_str();
  cmd->add_option("--v0", a->v0,
                  "policy threshold: B below it -> static (default 15; 0 for fptq-plus, whose "
                  "points are all per-token dynamic)");
  cmd->add_option("--v1", a->v1,
                  "policy threshold: B above it -> dynamic (default 150; 0 for fptq-plus)");
  cmd->add_option("--group-size", a->group,
                  "int4 group along K: 32, 64, 128, 256, 0 = per-channel (default: 32 for "
                  "fptq-plus, 128 otherwise)")
      ->check(non_negative_integer());
  cmd->add_option("--scale-rule", a->scale_rule,
                  "int4 scale: q4_0 (d = extreme/-8, 16 levels), absmax7 (d = max|w|/7), search "
                  "(per-group MSE-optimal clip), weighted (per-group scale search weighted by the "
                  "calibration E[x^2] of each input channel) (default: weighted for fptq-plus, "
                  "q4_0 otherwise)");
  cmd->add_flag("--gptq", a->gptq, "GPTQ weights (fptq -> fptq-gptq, w4a16-rtn -> w4a16-gptq)");
  cmd->add_option("--gptq-damp", a->gptq_damp, "GPTQ damping, relative to mean(diag H)")
      ->capture_default_str();
  cmd->add_option("--gptq-block", a->gptq_block, "GPTQ lazy-update block (columns)")
      ->capture_default_str();
  cmd->add_flag("--act-order", a->act_order, "GPTQ: visit columns by decreasing diag H");
  cmd->add_option("--alpha", a->alpha, "SmoothQuant migration strength (w8a8-smoothquant)")
      ->capture_default_str();
  cmd->add_option("--keep-fp", a->keep_fp,
                  "REGEX over tensor names kept in F16 (repeatable), e.g. 'blk\\.0\\.ffn_down'");
  cmd->add_option("--act-mode", a->act_mode,
                  "REGEX=static|dynamic|fp over point names blk.N.{attn_qkv_in, attn_out_in, "
                  "ffn_gate_up_in, ffn_down_in} (repeatable; the first match wins), e.g. "
                  "'ffn_down=dynamic'");
  cmd->add_option("--embd-type", a->embd_type,
                  "token_embd type: f32, f16, q8_0, q4_0 (default q8_0 when the input's is "
                  "quantized, else f16)");
  cmd->add_option("--output-type", a->output_type,
                  "output head type (untied models): f32, f16, q8_0, q4_0 (default q8_0)");
  cmd->add_option("--report", a->report, "write the layer table and tensor list as JSON or CSV");
  cmd->add_flag("-q,--quiet", a->calib.quiet, "no progress lines on stderr");
  add_stream_options(*cmd, a->calib, "OUTPUT");
  add_repair_options(*cmd, a->repair);
  add_threads_option(*cmd, &a->threads);
  cmd->callback([a] { run_quantize(*a); });
}

}  // namespace fptq::cli
