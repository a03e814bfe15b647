// --auto-keep: keep the most sensitive layer inputs (their consumer weights)
// in higher precision until a KL-divergence budget is met or a
// bits-per-weight budget is spent. One driver for `fptq sensitivity` and
// `fptq quantize`: rank every block point on its own (sensitivity.h), search
// the smallest / largest k, and turn the chosen points into tensor patterns
// for QuantizeOptions::keep_fp (F16) or keep_q8 (Q8_0, per-token int8
// activations).
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/thread_pool.h"
#include "eval/kl_base.h"
#include "eval/perplexity.h"
#include "io/model_file.h"
#include "report/mixed_model.h"
#include "report/sensitivity.h"
#include "tokenizer/tokenizer.h"

namespace fptq::report {

enum class KeepAs { f16, q8_0 };
KeepAs parse_keep_as(std::string_view s);  // "f16" | "q8_0"; throws fptq::Error otherwise
std::string_view keep_as_name(KeepAs k);
// Bits per weight of a kept linear weight: 16 (F16), 8.5 (Q8_0: 34 bytes per 32).
double keep_as_bits(KeepAs k);

// Where the search takes the kept points from: the FP model (f16), or a twin
// written with every block linear weight as Q8_0 (q8_0; its points are then
// run per token, dynamic).
struct KeepSource {
  KeepAs as = KeepAs::f16;
  std::shared_ptr<const io::ModelFile> file;
};

// Bits per weight of the block linear weights with the points in `kept`
// taken from `src` (F16: 16 bits; Q8_0: the Q8_0 twin's bytes, which keep
// F16 where K is not a multiple of 32) and the rest the twin's.
double kept_bpw(const QuantizedPair& pair, const KeepSource& src, const std::set<std::string>& kept);

struct KeepRow {
  std::string choice;  // "none", "top-k", "random-k (seed s)"
  int64_t k = 0;
  double bpw = 0;  // block linear weights
  EvalFigures fig;
};

struct AutoKeepBudget {
  double kld = -1;  // >= 0: the smallest k whose KLD is at most this
  double bpw = -1;  // >= 0: the largest k whose block-linear bits/weight stay at most this
};
// Throws fptq::Error naming the option when neither budget is given or one
// is negative / not finite (`given_*`: the option was on the command line).
void check_budget(double value, bool given, const char* option);

struct AutoKeepChoice {
  int64_t k = 0;
  std::set<std::string> points;       // the kept points
  std::vector<std::string> patterns;  // tensor regexes selecting their consumer weights
  double bpw = 0;                     // block linear bits/weight with them kept
  std::vector<KeepRow> tried;         // every k the KLD search evaluated (in order)
};

// Ranks every block point on its own against `base` (sensitivity --by layer),
// with r.all (everything quantized) filled.
SensitivityResult rank_layers(const QuantizedPair& pair, const tok::Tokenizer& tok,
                              std::span<const int32_t> tokens, const eval::PerplexityOptions& popts,
                              const eval::KlBase& base, double fp_ppl, ThreadPool& pool,
                              const SensProgressFn& progress = {});

// The twin with the points in `kept` taken from `src` (kept as F16: fp
// activations; as Q8_0: dynamic), emulated, against `base`.
EvalFigures evaluate_kept(const QuantizedPair& pair, const KeepSource& src,
                          const std::set<std::string>& kept, const tok::Tokenizer& tok,
                          std::span<const int32_t> tokens, const eval::PerplexityOptions& popts,
                          const eval::KlBase& base, ThreadPool& pool);

// The smallest k whose top-k kept model meets budget.kld (exponential then
// binary search over k, assuming KLD falls as k grows), capped by budget.bpw
// when that is given too; or, with budget.bpw alone, the largest k within it.
// With budget.kld the evaluated rows are in `tried` (k = 0 first: nothing kept).
AutoKeepChoice choose_kept(const QuantizedPair& pair, const SensitivityResult& ranking,
                           const AutoKeepBudget& budget, const KeepSource& src,
                           const tok::Tokenizer& tok, std::span<const int32_t> tokens,
                           const eval::PerplexityOptions& popts, const eval::KlBase& base,
                           ThreadPool& pool);

// Markdown: header and one row per KeepRow.
std::string keep_table_header(KeepAs as);
std::string keep_table_row(const KeepRow& r, double fp_ppl);

}  // namespace fptq::report
