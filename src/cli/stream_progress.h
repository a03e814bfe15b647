// Progress of the streaming calibration / quantization on stderr (text, or
// one JSON object per line with --progress=json; nothing with --quiet), and
// the Ctrl-C / kill handling that lets a run stop at the next boundary with
// its state saved.
#pragma once

#include <string>

#include "quant/stream_quantize.h"

namespace fptq::cli {

// mode: "text" or "json"; quiet wins. Lines at most once a second, plus the
// last of every block and stage. Each has the stage, block l/L, done/total
// of the current step, the rate (tokens/s or weights/s), elapsed and ETA.
quant::StreamProgressFn stream_progress_printer(const std::string& command, const std::string& mode,
                                                bool quiet);

// One JSON progress line on stderr for other long runs (evaluation):
// {"command","stage","done","total","unit","rate","rate_unit","elapsed_s",
// "eta_s" (null when unknown), "value" (e.g. the running perplexity)}.
void print_progress_json(const std::string& command, const std::string& stage, int64_t done,
                         int64_t total, const std::string& unit, double rate,
                         const std::string& rate_unit, double elapsed, double eta, double value);

// Throws fptq::Error unless mode is "text" or "json".
void check_progress_mode(const std::string& mode);

// While alive, the first SIGINT / SIGTERM asks the running stream to stop
// (quant::request_stop); a second one terminates at once.
class StopOnSignal {
 public:
  StopOnSignal();
  ~StopOnSignal();
  StopOnSignal(const StopOnSignal&) = delete;
  StopOnSignal& operator=(const StopOnSignal&) = delete;
};

// The test hook FPTQ_STREAM_STOP_AFTER=N (stop after N committed blocks), 0 when unset.
int64_t stream_stop_after_from_env();

}  // namespace fptq::cli
