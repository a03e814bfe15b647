// The FP model and its quantized twin for `fptq report` and `fptq
// sensitivity`: an existing quantized GGUF, or one quantized here (into a
// temporary file) from --stats or calibration options with --scheme.
#pragma once

#include <CLI/CLI.hpp>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "core/signal_cleanup.h"
#include "cli/calib_args.h"
#include "core/thread_pool.h"
#include "quant/calib_stats.h"
#include "report/mixed_model.h"

namespace fptq::cli {

struct PairArgs {
  std::string model;      // FP model
  std::string quantized;  // quantized GGUF ("" = quantize here)
  std::string stats;      // calibration statistics file
  CalibArgs calib;        // or calibrate here
  std::string scheme = "fptq";
  int64_t group = 128;
  std::vector<std::string> keep_fp;  // --keep-fp for the quantization done here
};

// Registers --stats, --scheme, --group-size and the calibration options.
void add_pair_quantize_options(CLI::App& cmd, PairArgs& a);

struct LoadedPair {
  report::QuantizedPair pair;
  std::optional<quant::CalibStatsSet> stats;
  std::string q_path;                  // the quantized file (maybe temporary)
  std::filesystem::path temp_dir;      // removed on destruction when set
  SignalCleanup temp_dir_on_signal;    // ... and on Ctrl-C / SIGTERM
  LoadedPair() = default;
  LoadedPair(const LoadedPair&) = delete;
  LoadedPair& operator=(const LoadedPair&) = delete;
  ~LoadedPair();
};

// Opens the FP model and the quantized twin (quantizing it first when no
// quantized file is given). Throws fptq::Error when neither a quantized
// file, --stats nor --calib is given.
std::unique_ptr<LoadedPair> load_pair(const PairArgs& a, ThreadPool& pool, const char* command);

}  // namespace fptq::cli
