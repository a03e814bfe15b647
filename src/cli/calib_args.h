// Calibration options shared by `fptq calibrate` and `fptq quantize`, and the
// progress line both print on stderr.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "quant/calibrate.h"

namespace fptq::cli {

struct CalibArgs {
  std::vector<std::string> calib;  // text files, or the single word "random"
  int64_t samples = quant::kDefaultCalibSamples;
  int64_t seqlen = quant::kDefaultCalibSeqlen;
  uint64_t seed = 0;
  bool quiet = false;
  std::string progress = "text";  // --progress text|json
  bool resume = false;            // --resume
};

// Registers --progress and --resume (streaming runs) on `cmd`.
void add_stream_options(CLI::App& cmd, CalibArgs& a, const std::string& what);

// Registers --calib, --samples, --seqlen, --seed on `cmd`.
void add_calib_options(CLI::App& cmd, CalibArgs& a);

// True when --calib was given.
bool has_calib(const CalibArgs& a);

// The library options for the arguments. Throws fptq::Error when "random" is
// mixed with files.
quant::CalibOptions calib_options(const CalibArgs& a);

// Builds the calibration sequences and prints the clamps (stderr, always).
quant::CalibData make_calib_data_verbose(const tok::Tokenizer& tok, const model::LlamaConfig& cfg,
                                         const quant::CalibOptions& o);

// A progress printer for calibration passes ("calibrate" / "hessians"):
// sample i/N, tokens/s, ETA, at most once a second, and always the last one.
// Prints nothing when quiet.
quant::CalibProgressFn calib_progress_printer(std::string label, bool quiet);

}  // namespace fptq::cli
