// The FP model's next-token distributions on the evaluated tokens, saved so
// that a quantized model can later be compared against them (`fptq
// perplexity --kl-base FILE`), and the runs that record and compare.
//
// What is stored per scored prediction: the base model's top-K logits (ids
// and values) and its log-sum-exp (kl_divergence.h), K = 64 by default; KL against
// it is the K + 1-outcome KL (a lower bound on the full-vocabulary KL, exact
// when K = n_vocab), and the mean base mass outside the top-K is reported.
// Along with them: the protocol, ctx, window count, BOS convention, n_vocab and
// the evaluated token ids, so that a comparison run checks it scores exactly
// the same predictions. (Not llama.cpp's --kl-divergence-base format, which
// stores the full vocabulary per position: ~100 KB a position for SmolLM2;
// with K = 64 a position takes 520 bytes.)
//
// File layout (little-endian):
//   0   char[8] "FPTQKLB1"
//   8   u32 version (1)        12  u32 protocol (0 llamacpp, 1 gptq)
//   16  i64 ctx                24  i64 n_windows
//   32  i64 n_vocab            40  i64 top_k
//   48  i64 n_positions (= n_windows · scored_per_window(protocol, ctx))
//   56  i64 bos_first (0 | 1)
//   64  i32 tokens[n_windows · ctx]     the windows as read from the text
//       then per position: i32 ids[top_k], f32 logits[top_k], f64 lse
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/thread_pool.h"
#include "eval/kl_divergence.h"
#include "eval/perplexity.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace fptq::eval {

inline constexpr int64_t kDefaultKlTopK = 64;

struct KlBase {
  Protocol protocol = Protocol::llamacpp;
  int64_t ctx = 0, n_windows = 0, n_vocab = 0, top_k = 0;
  bool bos_first = false;
  std::vector<int32_t> tokens;  // [n_windows · ctx]
  std::vector<int32_t> ids;     // [n_positions · top_k]
  std::vector<float> logits;    // [n_positions · top_k]
  std::vector<double> lse;      // [n_positions]
  int64_t n_positions() const { return n_windows * scored_per_window(protocol, ctx); }
};

std::string serialize_kl_base(const KlBase& b);
// Parses a file's bytes; `what` names it in errors. Throws fptq::Error on a
// bad magic/version/protocol, out-of-range sizes, a size that disagrees with
// the header (truncated or trailing bytes), token ids outside n_vocab,
// non-finite logits, or a log-sum-exp not finite or below the top logit.
KlBase parse_kl_base(std::string_view bytes, const std::string& what);
void write_kl_base(const std::string& path, const KlBase& b);  // atomic
KlBase read_kl_base(const std::string& path);

// Perplexity of the base model, recording its top-K log-probabilities.
struct KlBaseRun {
  PerplexityResult ppl;
  KlBase base;
};
KlBaseRun perplexity_record_kl_base(const model::Model& model, const tok::Tokenizer& tok,
                                    std::span<const int32_t> tokens, const PerplexityOptions& opts,
                                    ThreadPool& pool, int64_t top_k = kDefaultKlTopK,
                                    const ProgressFn& progress = {});

// Perplexity of `model` on the base's tokens, with KL(P_base ‖ P_model) and
// top-1 agreement per scored prediction. opts.protocol and opts.ctx (0 =
// default) must equal the base's; opts.max_chunks <= 0 takes the base's
// window count, otherwise it must equal it. Throws fptq::Error naming the
// difference when the base was recorded on another protocol, ctx, window
// count, BOS convention, vocabulary or token sequence.
struct KlCompareRun {
  PerplexityResult ppl;
  KlStats kl;
};
KlCompareRun perplexity_vs_kl_base(const model::Model& model, const tok::Tokenizer& tok,
                                   std::span<const int32_t> tokens, PerplexityOptions opts,
                                   const KlBase& base, ThreadPool& pool,
                                   const ProgressFn& progress = {});

}  // namespace fptq::eval
