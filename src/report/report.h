// The troubleshooting report of a quantized model (`fptq report`): what was
// done to every layer, on what data, and what it cost; rendered as one
// self-contained HTML page (inline SVG and CSS, no scripts, no fetches) and
// as JSON with the same figures.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "quant/calib_stats.h"
#include "report/mixed_model.h"
#include "report/probe.h"
#include "report/sensitivity.h"

namespace fptq::report {

// FP and quantized figures on an evaluation text.
struct Baseline {
  std::string text;
  std::string protocol;
  int64_t ctx = 0, windows = 0, predictions = 0;
  double fp_ppl = 0, fp_ppl_stderr = 0;
  EvalFigures q;  // the quantized model (emulated) against the FP model
};

struct ReportInput {
  std::string fp_path, q_path, stats_path;
  const QuantizedPair* pair = nullptr;
  std::optional<quant::CalibStatsSet> stats;  // full calibration statistics, when given
  quant::CalibProvenance probe;               // the sequences the probe ran
  std::vector<PointProbe> points;             // forward order
  std::optional<Baseline> baseline;
  std::optional<SensitivityResult> sensitivity;
  std::vector<std::string> notes;
};

// Per-channel max|x| before the fold: from the calibration statistics when
// given (the full calibration set), else from the probe.
const std::vector<float>& channel_max_before(const ReportInput& in, const PointProbe& p);

// Mean ΔKLD of a point from a layer ranking (nullopt when absent).
std::optional<double> point_kld(const ReportInput& in, const std::string& point);

std::string report_json(const ReportInput& in);
std::string report_html(const ReportInput& in);

}  // namespace fptq::report
