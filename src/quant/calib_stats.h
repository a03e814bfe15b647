// Calibration statistics for one observation point (the input of a linear
// layer, or of a group of linears that share it: q/k/v, gate/up).
//
// ChannelStats is a streaming accumulator over activation rows x: [tokens][k]
// row-major. Per input channel j it keeps m_j = max_t |x[t, j]| and
// Σ_t x[t, j]²; overall it keeps the token count, a histogram of |x| with
// fixed log-spaced bin edges (identical in every accumulator, so merge() is
// exact), and counts of non-finite values. NaN/Inf values are counted (per
// channel) and otherwise excluded: they never reach the maxima, the sums or
// the histogram, and the caller decides what to do with a non-zero count.
//
// Outlier tokens (PrefixQuant-style isolation): within each observe() call
// (one forward batch, the rows of one sequence), a row whose max |x| exceeds
// kOutlierTokenRatio times the median row max of the call is an outlier token
// (the attention sink at position 0, other massive-activation tokens).
// ordinary_max_abs() keeps m_j over the other rows only, so that a static
// scale can be set by ordinary tokens while the engine quantizes the outliers
// per token (kernels/quantize_i8.h, isolation). A call of fewer than
// kOutlierMinRows rows flags nothing (a median of a handful of rows says
// nothing).
//
// Not thread-safe; accumulate per thread and merge().
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace fptq::quant {

// Histogram geometry, fixed for every accumulator and every stats file:
//   bin 0                    |x| < 2^kHistMinLog2 (including 0)
//   bin 1 + i, i in [0, kHistLogBins)   2^(kHistMinLog2 + i/kHistBinsPerOctave) <= |x|
//                                        < 2^(kHistMinLog2 + (i+1)/kHistBinsPerOctave)
//   bin kHistBins - 1        |x| >= 2^kHistMaxLog2
inline constexpr int kHistBinsPerOctave = 8;
inline constexpr int kHistMinLog2 = -24;
inline constexpr int kHistMaxLog2 = 24;
inline constexpr int kHistLogBins = (kHistMaxLog2 - kHistMinLog2) * kHistBinsPerOctave;
inline constexpr int kHistBins = kHistLogBins + 2;

inline constexpr float kOutlierTokenRatio = 16.0f;
inline constexpr int64_t kOutlierMinRows = 8;

// Histogram bin of a finite |x| (a >= 0), per the table above.
int hist_bin(float a);
// Lower edge of bin b (0 for bin 0); upper edge of bin b is hist_lower_edge(b + 1)
// (+inf for the last bin).
double hist_lower_edge(int b);

class ChannelStats {
 public:
  // An empty accumulator for k input channels (k >= 0).
  explicit ChannelStats(int64_t channels = 0);

  // Adds rows x: [tokens][channels] row-major. x.size() must be a multiple of
  // channels(); throws fptq::Error otherwise.
  void observe(std::span<const float> x);

  // Adds every observation of `other`; the result is exactly what observing
  // both streams in one accumulator gives (maxima, counts and histogram are
  // exact; the Σx² doubles up to summation order). Throws fptq::Error when
  // the channel counts differ.
  void merge(const ChannelStats& other);

  int64_t channels() const { return int64_t(max_abs_.size()); }
  int64_t tokens() const { return tokens_; }
  // m_j over the finite values seen: [channels]; 0 for a channel with none.
  const std::vector<float>& max_abs() const { return max_abs_; }
  // Σ_t x[t, j]² over the finite values: [channels].
  const std::vector<double>& sum_sq() const { return sum_sq_; }
  // E[x_j²] = Σ_t x[t, j]² / max(tokens, 1): [channels] (the importance of
  // the weighted int4 search and of the AWQ search).
  std::vector<double> mean_sq() const;
  // m_j over the rows that were not outlier tokens: [channels] (= max_abs()
  // for stats loaded from a file written before isolation existed; see
  // has_ordinary()).
  const std::vector<float>& ordinary_max_abs() const { return ordinary_max_abs_; }
  // Rows flagged as outlier tokens.
  int64_t outlier_tokens() const { return outlier_tokens_; }
  // False only for stats read from a file without the ordinary maxima.
  bool has_ordinary() const { return has_ordinary_; }
  // max_j of ordinary_max_abs().
  float ordinary_bound() const;
  // Non-finite values seen per channel (NaN and ±Inf): [channels].
  const std::vector<int64_t>& nonfinite() const { return nonfinite_; }
  int64_t nan_count() const { return nan_count_; }
  int64_t inf_count() const { return inf_count_; }
  int64_t nonfinite_count() const { return nan_count_ + inf_count_; }
  // Histogram of |x| over the finite values: [kHistBins].
  const std::vector<uint64_t>& histogram() const { return hist_; }

  // B = max_j m_j, the layer's activation bound (0 when nothing was seen).
  float bound() const;

  // The p-quantile (p in [0, 1]) of |x| over all finite values, read from the
  // histogram: interpolated geometrically inside the bin that holds it, and
  // never above bound(). Resolution is one bin (2^(1/8) ≈ 9% relative).
  // Returns 0 when nothing was seen; throws fptq::Error when p is outside [0, 1].
  double percentile_abs(double p) const;

  // Indices of the k channels with the largest m_j, largest first (ties: the
  // lower index first). k is clamped to channels().
  std::vector<int64_t> top_channels(int64_t k) const;

  // Rebuilds an accumulator from stored fields (used by the stats loader).
  // Validates the sizes and values; throws fptq::Error naming `what` on any
  // inconsistency.
  static ChannelStats from_parts(const std::string& what, int64_t tokens,
                                 std::vector<float> max_abs, std::vector<double> sum_sq,
                                 std::vector<int64_t> nonfinite, int64_t nan_count,
                                 int64_t inf_count, std::vector<uint64_t> hist);
  // Adds the outlier-token fields (ordinary maxima, each <= max_abs, and the
  // count); validates them, throws fptq::Error naming `what`.
  void set_ordinary(const std::string& what, std::vector<float> ordinary_max_abs,
                    int64_t outlier_tokens);

 private:
  int64_t tokens_ = 0;
  int64_t nan_count_ = 0;
  int64_t inf_count_ = 0;
  std::vector<float> max_abs_;
  std::vector<float> ordinary_max_abs_;
  int64_t outlier_tokens_ = 0;
  bool has_ordinary_ = true;
  std::vector<double> sum_sq_;
  std::vector<int64_t> nonfinite_;
  std::vector<uint64_t> hist_;
};

// Where the calibration data came from; written into the stats file and,
// later, into the quantized model's fptq.* metadata.
struct CalibProvenance {
  std::string source;       // e.g. "text:wiki.train.raw" or "random-tokens"
  int64_t samples = 0;      // number of calibration sequences
  int64_t seqlen = 0;       // tokens per sequence
  uint64_t seed = 0;        // RNG seed of the sampler
  std::string text_digest;  // hex digest of the calibration text ("" for data-free)
};

// A set of named observation points ("blk.0.attn_in", ...) with provenance.
struct CalibStatsSet {
  CalibProvenance provenance;
  std::map<std::string, ChannelStats> points;
};

// The stats file is JSON (format "fptq-calib-stats", version 1):
//   { "format": "fptq-calib-stats", "version": 1,
//     "histogram": {"bins_per_octave": 8, "min_log2": -24, "max_log2": 24},
//     "provenance": {"source", "samples", "seqlen", "seed", "text_digest"},
//     "points": { name: {"channels", "tokens", "max_abs": [k floats],
//                        "sum_sq": [k doubles], "nonfinite": [k ints],
//                        "nan": int, "inf": int, "hist": [kHistBins ints],
//                        "ordinary_max_abs": [k floats], "outlier_tokens": int} } }
// (the last two optional on read: files written before isolation lack them)
// Floats are written with round-trip precision, so save/load is exact.

// Writes the set to `path`; throws fptq::Error when the file cannot be written.
void save_calib_stats(const std::string& path, const CalibStatsSet& set);
// Reads a stats file, treating it as hostile: every field is type- and
// range-checked and the histogram must account for every finite value.
// Throws fptq::Error naming the file and the offending field.
CalibStatsSet load_calib_stats(const std::string& path);
// The same from an in-memory JSON text (`what` names it in errors).
CalibStatsSet parse_calib_stats(const std::string& text, const std::string& what);
std::string serialize_calib_stats(const CalibStatsSet& set);

}  // namespace fptq::quant
