// The small statistics behind `fptq report` and `fptq sensitivity`:
// histograms with fixed linear bins, exact percentiles of a sample, the
// fraction of a log-binned |x| histogram below a threshold (how much of an
// activation rounds to zero under a static scale), and running error sums.
// Each is a pure function of its inputs, tested on known values.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace fptq::report {

// Counts of `values` in `bins` equal-width bins over [lo, hi]: bin i holds
// lo + i·w <= v < lo + (i+1)·w, w = (hi − lo) / bins; v == hi goes to the last
// bin. Values outside [lo, hi] and non-finite values are not counted (see
// LinearHistogram::outside). Throws fptq::Error when bins < 1 or !(lo < hi).
struct LinearHistogram {
  double lo = 0, hi = 1;
  std::vector<uint64_t> counts;
  uint64_t outside = 0;  // values outside [lo, hi] or not finite
  uint64_t total() const;  // Σ counts (outside excluded)
};
LinearHistogram linear_histogram(std::span<const float> values, double lo, double hi, int bins);

// The p-quantile (p in [0, 1]) of `values` with linear interpolation between
// order statistics (the "type 7" rule: position p·(n − 1) of the sorted
// sample). Non-finite values are ignored. Returns 0 for an empty sample;
// throws fptq::Error when p is outside [0, 1].
double percentile(std::span<const float> values, double p);

// max |v| over the finite values (0 when there are none).
float abs_max(std::span<const float> values);

// Fraction of the mass of a |x| histogram in quant/calib_stats.h's log-bin
// geometry (hist.size() == kHistBins) that lies below `threshold`: whole bins
// whose upper edge is <= threshold count fully, the bin holding the threshold
// counts in proportion to where it falls (geometrically, as percentile_abs
// interpolates). 0 for an empty histogram. Throws fptq::Error on a wrong size.
double log_hist_fraction_below(std::span<const uint64_t> hist, double threshold);

// Counts of integer quantization codes lo..hi, one bin per code
// (counts[c − lo]), and how many values were saturated: their rounded code
// lay outside [lo, hi] and was clamped to the end code.
struct CodeHistogram {
  int lo = 0, hi = -1;  // empty: no codes (e.g. activations kept in FP)
  std::vector<uint64_t> counts;
  uint64_t saturated = 0;
  bool empty() const { return counts.empty(); }
  uint64_t total() const;           // Σ counts
  double saturated_frac() const;    // saturated / total (0 when empty)
  double end_frac() const;          // share of codes at lo or hi (full scale)
  void merge(const CodeHistogram& o);  // adds o (same range, or this empty)
};
CodeHistogram code_histogram(int lo, int hi);

// The int8 codes the static activation quantizer (quant/act_quant.h) gives
// `x` with scale delta: clamp(nearbyint(x / Δ), −127, 127); saturated: the
// values whose nearbyint(x / Δ) is beyond ±127. Throws fptq::Error as
// quant::quantize_static does (non-finite input, delta <= 0).
CodeHistogram static_int8_codes(std::span<const float> x, float delta);
// The per-token dynamic quantizer's codes of x: [rows][cols] (Δ_t = max|x_t| /
// 127): never saturated, the largest |x| of every row maps to ±127.
CodeHistogram dynamic_int8_codes(std::span<const float> x, int64_t cols);

// The integer weight codes stored in a tensor's raw blocks: Q4_0 gives
// q − 8 in −8..7 (IQ4_NL its level index − 8, likewise), Q8_0 its int8 values (−128..127); `elements` values,
// a whole number of 32-element blocks, `data` holding them. nullopt for other
// types (F16/F32 have no codes; Q4_1's offset codes are not symmetric).
// Throws fptq::Error when the sizes disagree.
std::optional<CodeHistogram> weight_codes(std::string_view type, std::span<const uint8_t> data,
                                          int64_t elements);

// Running Σ(approx − ref)² and Σ ref² over several calls; nmse() as
// quant::nmse of the concatenation.
class ErrorSum {
 public:
  void add(std::span<const float> ref, std::span<const float> approx);
  double nmse() const;
  double err() const { return err_; }
  double ref() const { return ref_; }

 private:
  double err_ = 0, ref_ = 0;
};

}  // namespace fptq::report
