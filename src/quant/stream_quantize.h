// Streaming, bounded-memory calibration and quantization: the model is
// processed block by block over the memory-mapped input, and only one
// transformer block's weights (dequantized) plus the calibration hidden
// states of one sequence are resident at a time; the hidden states between
// blocks live in the work folder (stream_state.h).
//
//   calibrate_streaming:  for block l = 0 .. L-1: load block l, run every
//       calibration sequence's FP hidden states through it recording the
//       ChannelStats of its four points, save the states entering l+1.
//       The statistics equal calibrate() on the whole model exactly.
//   quantize_streaming:   (statistics from a file, or calibrate_streaming
//       first), plan the whole model from the statistics (plan.h: weights
//       are not touched, except SmoothQuant's per-point column maxima), write
//       the non-block tensors, then for block l: (GPTQ: run the FP hidden
//       states through block l collecting its Hessians), fold block l's
//       LAE / SmoothQuant scales, convert and append its tensors to the data
//       file; at the end the GGUF header and the data are assembled in the
//       work folder and renamed over the output. The bytes equal
//       quantize_model()'s.
//
// The work folder (default: <output>.fptq-partial) holds the state after
// every block. A run that stops (signal via request_stop(), or the test
// hook) throws Interrupted and keeps it; with resume = true a later run with
// the same input, options and calibration data continues from the last
// finished block and writes the same bytes. The output path only ever holds
// the previous file or the complete new one. On success the folder is removed.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/thread_pool.h"
#include "io/model_file.h"
#include "quant/calib_stats.h"
#include "quant/calibrate.h"
#include "quant/plan.h"
#include "quant/quantize_model.h"
#include "quant/stream_state.h"

namespace fptq::quant {

struct StreamProgress {
  std::string stage;       // "calibrate", "plan", "hessians", "quantize", "write"
  int64_t layer = -1;      // current block (-1: non-block tensors, writing)
  int64_t n_layer = 0;
  int64_t done = 0, total = 0;  // samples (calibrate, hessians), blocks (plan) or tensors (quantize)
  std::string unit;        // "samples", "blocks" or "tensors"
  double work = 0;         // stage throughput numerator: tokens (calibrate, hessians) or weights
  std::string work_unit;   // "tokens" or "weights"
  double fraction = 0;     // of the stage, [0, 1]
  double start_fraction = 0;  // where this run started the stage (resume)
  double stage_seconds = 0;   // in this stage, this run
  double seconds = 0;         // since the run started
};
using StreamProgressFn = std::function<void(const StreamProgress&)>;

struct StreamOptions {
  std::string work_dir;           // "" = <output>.fptq-partial
  bool resume = false;            // continue from a matching state in work_dir
  // The input's tensors are read from a file mapping (io::open_model of a
  // GGUF file): drop each block's pages after use so the resident set stays
  // at one block. Never set it for in-memory models.
  bool release_input_pages = false;
  // Test hook: stop (Interrupted, state kept) after this many blocks
  // committed in this run; 0 = never.
  int64_t stop_after_commits = 0;
  StreamProgressFn progress;
  // Receives one line per event worth telling the user (resume, fresh start).
  std::function<void(const std::string&)> note;
};

// Calibration statistics of every block point over `data`, one block at a
// time; equal to calibrate(Model(src), data). `out_path` names the stats
// file the caller will write (the work folder defaults next to it).
CalibStatsSet calibrate_streaming(std::shared_ptr<const io::ModelFile> src, const CalibData& data,
                                  const std::string& out_path, ThreadPool& pool,
                                  const StreamOptions& so);

// Quantizes `src` into `out_path` one block at a time. stats: the
// statistics (from a file), or nullptr to calibrate on `data` first (then
// *stats_out receives them when non-null). data: calibration sequences,
// required when stats is null or the scheme uses GPTQ. Same errors as
// quantize_model(), plus Interrupted.
QuantizeReport quantize_streaming(std::shared_ptr<const io::ModelFile> src,
                                  const CalibStatsSet* stats, const CalibData* data,
                                  const QuantizeOptions& opts, const std::string& out_path,
                                  ThreadPool& pool, const StreamOptions& so,
                                  CalibStatsSet* stats_out = nullptr);

}  // namespace fptq::quant
