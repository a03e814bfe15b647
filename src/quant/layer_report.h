// The layer table: for every observation point, its bound B, the largest
// channels, the chosen strategy, the bound after LAE and the static scale;
// for every tensor, its output type, int4 group and any fallback. Printed
// after calibration / quantization and written with --report FILE (.json or
// .csv by extension).
#pragma once

#include <string>

#include "quant/plan.h"
#include "quant/quantize_model.h"

namespace fptq::quant {

// Human-readable table of the points (one line each) followed by the
// per-strategy counts and the tensors whose type is not the scheme's default.
std::string format_layer_table(const QuantPlan& plan);

// The end-of-run summary: bits per weight (linear weights, all tensors,
// whole file), file size, strategy counts, fallbacks, timings.
std::string format_quantize_summary(const QuantizeReport& rep);

// JSON: {"scheme", "options", "provenance", "points": [...], "tensors": [...],
//        "counts": {...}, "summary": {...} (when rep != nullptr)}.
std::string layer_report_json(const QuantPlan& plan, const QuantizeReport* rep);
// CSV with one header; rows of section "point" fill the point columns, rows
// of section "tensor" the tensor columns.
std::string layer_report_csv(const QuantPlan& plan, const QuantizeReport* rep);

// Writes the JSON or CSV form by the extension of `path` (.json / .csv),
// atomically (temp file + rename). Throws fptq::Error for another extension
// or a write failure.
void write_layer_report(const std::string& path, const QuantPlan& plan, const QuantizeReport* rep);

// Throws fptq::Error unless `path` ends in .json or .csv (checked before slow work).
void check_report_path(const std::string& path);

}  // namespace fptq::quant
