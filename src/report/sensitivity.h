// Layer sensitivity: the FP model with one unit (one observation point with
// its consumer weights, or a group of them) quantized at a time, evaluated
// against the FP model on a short text (KL divergence, ΔPPL, top-1), and the
// search that keeps the most sensitive units in higher precision.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "eval/kl_base.h"
#include "eval/perplexity.h"
#include "io/model_file.h"
#include "model/quant_spec.h"
#include "report/mixed_model.h"
#include "tokenizer/tokenizer.h"

namespace fptq::report {

enum class UnitBy { layer, group };
UnitBy parse_unit_by(const std::string& s);  // "layer" | "group"; throws fptq::Error otherwise

struct SensUnit {
  std::string name;                 // "blk.3.ffn_down_in", "attention", "ffn", "blk.3"
  std::vector<std::string> points;  // the points it quantizes
};

// layer: every block point on its own; group: all attention points, all FFN
// points, then each block.
std::vector<SensUnit> sensitivity_units(const model::LlamaConfig& cfg, UnitBy by);

struct EvalFigures {
  double ppl = 0, ppl_stderr = 0;
  double kld = 0, kld_stderr = 0, kld_p99 = 0;
  double top1 = 0;
};

// Evaluates `file` emulated on the F32 path with the activation quantizers
// of `spec`, against `base` on `tokens`.
EvalFigures evaluate_emulated(std::shared_ptr<const io::ModelFile> file,
                              const model::QuantSpec& spec, const tok::Tokenizer& tok,
                              std::span<const int32_t> tokens,
                              const eval::PerplexityOptions& popts, const eval::KlBase& base,
                              ThreadPool& pool);

// Evaluates the FP model with `quantized` points quantized (mixed_model.h),
// emulated on the F32 path, against `base` on `tokens`.
EvalFigures evaluate_mixed(const QuantizedPair& pair, const std::set<std::string>& quantized,
                           const tok::Tokenizer& tok, std::span<const int32_t> tokens,
                           const eval::PerplexityOptions& popts, const eval::KlBase& base,
                           ThreadPool& pool);

struct SensRow {
  SensUnit unit;
  EvalFigures fig;
  double dppl = 0;  // fig.ppl − FP PPL
};

struct SensitivityResult {
  std::string model, quantized, text, scheme, by;
  int64_t ctx = 0, windows = 0, predictions = 0;
  double fp_ppl = 0;
  EvalFigures all;             // every point quantized
  std::vector<SensRow> rows;   // ranked: largest KLD first (ties: unit order)
};

using SensProgressFn = std::function<void(int64_t done, int64_t total, const SensRow&)>;

// Ranks `units`: each is evaluated alone. The ranking is by mean KLD,
// descending; equal KLDs keep the units' order.
SensitivityResult rank_units(const QuantizedPair& pair, const std::vector<SensUnit>& units,
                             const tok::Tokenizer& tok, std::span<const int32_t> tokens,
                             const eval::PerplexityOptions& popts, const eval::KlBase& base,
                             double fp_ppl, ThreadPool& pool, const SensProgressFn& progress = {});

// Sorts rows by KLD descending, stable.
void sort_ranking(std::vector<SensRow>& rows);

std::string sensitivity_json(const SensitivityResult& r);
// Reads what sensitivity_json writes (hostile: types checked). Throws
// fptq::Error naming `what` and the field.
SensitivityResult parse_sensitivity_json(const std::string& text, const std::string& what);
SensitivityResult read_sensitivity(const std::string& path);

// Markdown ranking table.
std::string format_ranking(const SensitivityResult& r, int64_t limit = 0);

// The points of the k highest-ranked layer units (units that are single
// points; group units are skipped).
std::set<std::string> top_points(const SensitivityResult& r, int64_t k);

// k distinct points drawn uniformly from `points` with a seeded shuffle
// (mt19937_64, the same on every platform for a seed).
std::set<std::string> random_points(const std::vector<std::string>& points, int64_t k,
                                    uint64_t seed);

// --keep-fp regexes that select the consumer tensors of `points`
// (e.g. "^blk\.3\.ffn_down\.weight$").
std::vector<std::string> keep_fp_patterns(const model::LlamaConfig& cfg,
                                          const std::set<std::string>& points);

// KeepRow, the --auto-keep search and its budgets: report/auto_keep.h.

}  // namespace fptq::report
