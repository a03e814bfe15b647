// fptq calibrate MODEL --calib FILE...|random: per-channel activation
// statistics of every linear input, saved for `fptq quantize --stats`, and
// the layer table the FPTQ policy derives from them.
#include <filesystem>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "cli/calib_args.h"
#include "cli/commands.h"
#include "cli/stream_progress.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "core/timer.h"
#include "io/model_file.h"
#include "io/output_path.h"
#include "model/config.h"
#include "quant/calib_stats.h"
#include "quant/layer_report.h"
#include "quant/plan.h"
#include "quant/stream_quantize.h"
#include "tokenizer/tokenizer.h"

namespace fptq::cli {
namespace {

struct CalibrateArgs {
  std::string model;
  CalibArgs calib;
  std::string out;
  std::string report;
  float v0 = 15.0f, v1 = 150.0f;
  int threads = 1;
};

std::string default_stats_path(const std::string& model) {
  namespace fs = std::filesystem;
  fs::path p(model);
  while (!p.empty() && !p.has_filename()) p = p.parent_path();  // "dir/" -> "dir"
  return p.stem().string() + ".stats.json";
}

void run_calibrate(const CalibrateArgs& a) {
  if (!has_calib(a.calib)) fail("calibrate: give --calib FILE... or --calib random");
  const quant::CalibOptions copts = calib_options(a.calib);
  if (!a.report.empty()) quant::check_report_path(a.report);
  quant::QuantizeOptions qopts;
  qopts.policy.v0 = a.v0;
  qopts.policy.v1 = a.v1;
  quant::validate_options(qopts);
  const std::string out = a.out.empty() ? default_stats_path(a.model) : a.out;
  io::check_output_paths({{out, "-o/--output"}, {a.report, "--report"}}, a.model, a.calib.calib);

  ThreadPool pool(a.threads);
  Timer timer;
  const auto file = io::open_model(a.model);
  const model::LlamaConfig cfg = model::read_config(*file);
  const auto tok = tok::Tokenizer::from_metadata(file->metadata, file->path);
  const quant::CalibData data = make_calib_data_verbose(*tok, cfg, copts);
  // Block by block over the mapped input: one block's weights resident.
  quant::StreamOptions so;
  so.resume = a.calib.resume;
  so.release_input_pages = file->format == "gguf";
  so.stop_after_commits = stream_stop_after_from_env();
  so.progress = stream_progress_printer("calibrate", a.calib.progress, a.calib.quiet);
  so.note = [](const std::string& s) { fmt::print(stderr, "calibrate: {}\n", s); };
  quant::CalibStatsSet stats;
  {
    const StopOnSignal stop_on_signal;
    stats = quant::calibrate_streaming(file, data, out, pool, so);
  }
  write_file_atomic(out, quant::serialize_calib_stats(stats));
  fmt::print(stderr, "calibration: {} points, {} tokens in {:.1f} s; statistics written to {}\n",
             stats.points.size(), data.provenance.samples * data.provenance.seqlen,
             timer.elapsed(), out);

  const quant::QuantPlan plan = quant::plan_quantization(*file, stats, qopts, {&pool, {}});
  fmt::print("{}", quant::format_layer_table(plan));
  if (!a.report.empty()) {
    quant::write_layer_report(a.report, plan, nullptr);
    fmt::print(stderr, "layer report written to {}\n", a.report);
  }
}

}  // namespace

void add_calibrate_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "calibrate",
      "Run calibration sequences through the FP model and record, at the input of every linear "
      "layer (q/k/v share one, gate/up share one), the per-channel max|x|, Σx² and a histogram "
      "of |x|, reduced as they stream. Writes a stats file for `fptq quantize --stats` and "
      "prints the layer table the FPTQ policy derives from it (bound B, largest channels, "
      "static / LAE+static / dynamic, bound after LAE, static scale).");
  auto a = std::make_shared<CalibrateArgs>();
  cmd->add_option("MODEL", a->model, "GGUF file or Hugging Face model directory")->required();
  add_calib_options(*cmd, a->calib);
  cmd->add_option("-o,--output", a->out,
                  "stats file to write (default: MODEL-stem.stats.json in the current folder)");
  cmd->add_option("--report", a->report, "also write the layer table as JSON or CSV (by extension)");
  cmd->add_option("--v0", a->v0, "policy threshold: B below it -> static")->capture_default_str();
  cmd->add_option("--v1", a->v1, "policy threshold: B above it -> dynamic")->capture_default_str();
  cmd->add_flag("-q,--quiet", a->calib.quiet, "no progress lines on stderr");
  add_stream_options(*cmd, a->calib, "OUTPUT");
  add_threads_option(*cmd, &a->threads);
  cmd->callback([a] { run_calibrate(*a); });
}

}  // namespace fptq::cli
