// `fptq quantize --act-clip PCT` and `--auto-keep BUDGET | --auto-keep-bpw B`:
// a twin (the plain quantization) is written next to the output first; the
// FP model is probed against it for the percentile scales (report/probe.h,
// report/act_clip.h) and its layers are ranked on an evaluation text and the
// kept set chosen (report/auto_keep.h); then the output is written with the
// clipped static scales (QuantizeOptions::static_scales, recorded as
// fptq.act.clip) and the kept layers (keep_fp or keep_q8). The twins are
// removed; the output is written atomically as always.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/calib_args.h"
#include "core/thread_pool.h"
#include "io/model_file.h"
#include "quant/calib_stats.h"
#include "quant/calibrate.h"
#include "quant/quantize_model.h"
#include "quant/stream_quantize.h"

namespace fptq::cli {

struct RepairArgs {
  double auto_keep = std::nan("");      // KLD budget (NaN: not given)
  double auto_keep_bpw = std::nan("");  // bits/weight budget of the block linears
  std::string keep_as = "q8_0";         // f16 | q8_0
  double act_clip = std::nan("");       // percentile of |x'| in (0, 100]
  std::string eval_text;                // -f/--eval-text (default: the calibration text)
  std::string ranking;                  // --ranking FILE: `fptq sensitivity --json` output to reuse
  int64_t eval_ctx = 512;
  int64_t eval_chunks = 4;
};

void add_repair_options(CLI::App& cmd, RepairArgs& a);

// True when --auto-keep, --auto-keep-bpw or --act-clip was given.
bool repair_requested(const RepairArgs& a);

// Checks the repair options before any work: budgets >= 0, the percentile in
// (0, 100], --act-clip only with a scheme that has static points, --keep-as
// only with a budget, no --resume. Throws fptq::Error.
void check_repair_args(const RepairArgs& a, const CalibArgs& calib, const std::string& stats_path,
                       const quant::QuantizeOptions& opts);

struct RepairOutcome {
  std::string text;      // markdown for stdout
  nlohmann::json json;   // {"act_clip": {...}, "auto_keep": {...}} for --report
};

// Quantizes as described above; returns the output's report.
quant::QuantizeReport quantize_with_repair(const RepairArgs& a, const CalibArgs& calib,
                                           std::shared_ptr<const io::ModelFile> file,
                                           const quant::CalibStatsSet* stats,
                                           const quant::CalibData* data,
                                           quant::QuantizeOptions opts, const std::string& out,
                                           ThreadPool& pool, const quant::StreamOptions& so,
                                           quant::CalibStatsSet* own_stats, RepairOutcome& outcome);

// write_layer_report, with the outcome's objects added to the JSON form.
void write_repair_report(const std::string& path, const quant::QuantizeReport& rep,
                         const RepairOutcome& outcome);

}  // namespace fptq::cli
