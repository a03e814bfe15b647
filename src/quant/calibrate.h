// Calibration (fptq-method.md §1): run calibration sequences through the FP
// model and reduce the input of every linear layer, as it streams, to
// per-channel statistics (ChannelStats); no activation is kept.
//
// Sources:
//   text    the files are read, joined with "\n" between files, tokenized
//           once (BOS first when the tokenizer adds it by default), cut into
//           floor(T / L) non-overlapping windows of L tokens, and `samples` of
//           them are drawn without replacement by a seeded Fisher–Yates shuffle
//           (mt19937_64, rejection-sampled indices: the same on every platform).
//   random  token ids uniform over [0, n_vocab) from the seed (data-free).
// Every sequence starts with BOS when the tokenizer adds BOS by default (for
// text windows, token 0 is replaced by BOS, as llama.cpp's imatrix does).
// samples is clamped to the windows the text holds and seqlen to the text
// length and to the model's context length; each clamp is reported in
// CalibData::notes.
//
// Observation points: blk.N.attn_qkv_in / attn_out_in / ffn_gate_up_in /
// ffn_down_in (model/observer.h). The output head input is not recorded: the
// head stays in floating point and only the requested rows reach it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "model/model.h"
#include "quant/calib_stats.h"
#include "quant/gptq.h"
#include "tokenizer/tokenizer.h"

namespace fptq::quant {

inline constexpr int64_t kDefaultCalibSamples = 128;
inline constexpr int64_t kDefaultCalibSeqlen = 2048;

struct CalibOptions {
  std::vector<std::string> text_files;  // empty: random tokens
  int64_t samples = kDefaultCalibSamples;
  int64_t seqlen = kDefaultCalibSeqlen;
  uint64_t seed = 0;
};

// The token sequences of one calibration run, with their provenance.
struct CalibData {
  std::vector<std::vector<int32_t>> sequences;  // [samples][seqlen]
  CalibProvenance provenance;  // source "random" or "text:<file>[,<file>...]", digest = sha256
                               // of the joined text ("" for random)
  std::vector<std::string> notes;  // one line per clamp applied
};

// Builds the sequences. Throws fptq::Error when samples or seqlen is < 1, a
// file cannot be read, or the text yields fewer than 2 tokens.
// The most random calibration tokens one run draws (samples × seqlen, after
// the seqlen is clamped to the context): 2^26 token ids, 256 MiB.
inline constexpr int64_t kMaxRandomCalibTokens = int64_t(1) << 26;

CalibData make_calib_data(const tok::Tokenizer& tok, const model::LlamaConfig& cfg,
                          const CalibOptions& opts);

// The options that reproduce a calibration run from its provenance (for
// re-running calibration, e.g. to collect GPTQ Hessians, from a stats file).
// Throws fptq::Error when the source is unknown.
CalibOptions calib_options_from_provenance(const CalibProvenance& p);

struct CalibProgress {
  int64_t sample = 0;     // samples done
  int64_t n_samples = 0;
  int64_t tokens = 0;     // tokens processed so far
  double seconds = 0;     // since the start
};
using CalibProgressFn = std::function<void(const CalibProgress&)>;

// Input channels of a block point of `c` (dim, n_head·head_dim or ffn_dim).
int64_t point_channels(const model::LlamaConfig& c, model::MatmulInput kind);

// The observation points of a model with n_layer blocks, in forward order.
std::vector<std::string> block_point_names(int64_t n_layer);

// Per-channel statistics of every block point over `data`. Deterministic and
// independent of pool.size(). Throws fptq::Error when an activation is not
// finite (naming the point and sample).
CalibStatsSet calibrate(const model::Model& model, const CalibData& data, ThreadPool& pool,
                        const CalibProgressFn& progress = {});

// GPTQ Hessians H = 2 Σ xᵀx of the given points (names as block_point_names)
// over `data`, accumulated through the same forward pass. Memory: k² doubles
// per point. Deterministic and independent of pool.size().
std::map<std::string, HessianAccumulator> collect_hessians(
    const model::Model& model, const CalibData& data, const std::vector<std::string>& points,
    ThreadPool& pool, const CalibProgressFn& progress = {});

// Checks that `stats` holds every block point of `cfg` with the right channel
// count and a positive token count. Throws fptq::Error naming the first
// missing or mismatched point (e.g. stats of another model).
void check_stats_match(const CalibStatsSet& stats, const model::LlamaConfig& cfg,
                       const std::string& what);

}  // namespace fptq::quant
